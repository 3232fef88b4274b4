package main

// Unit tests of what the provider takes from the upstream terraform-provider-vault (ids.go names each file):
// import ID formats, replace vs update, defaults and computed fields, normalized comparison.

import (
	"reflect"
	"sort"
	"testing"
)

func mustKind(t *testing.T, token string) *kind {
	t.Helper()
	k, ok := kinds[token]
	if !ok {
		t.Fatalf("no kind %s", token)
	}
	return k
}

func TestImportIDsRoundTrip(t *testing.T) {
	cases := map[string]string{
		"vault:index/policy:Policy":                                       "app-read",
		"vault:index/authBackend:AuthBackend":                             "userpass",
		"vault:index/mount:Mount":                                         "kv-team/a",
		"vault:index/userpassAuthBackendUser:UserpassAuthBackendUser":     "auth/userpass/users/alice",
		"vault:kv/secretBackendV2:SecretBackendV2":                        "kv/config",
		"vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls": "pki-int/config/urls",
		"vault:pkiSecret/secretBackendRole:SecretBackendRole":             "pki/roles/web",
		"vault:aws/secretBackend:SecretBackend":                           "aws",
		"vault:aws/secretBackendRole:SecretBackendRole":                   "aws/roles/deploy",
		"vault:kubernetes/authBackendConfig:AuthBackendConfig":            "auth/kubernetes/config",
		"vault:kubernetes/authBackendRole:AuthBackendRole":                "auth/kubernetes/role/app",
		"vault:appRole/authBackendRole:AuthBackendRole":                   "auth/approle/role/batch",
	}
	for token, id := range cases {
		k := mustKind(t, token)
		in, err := k.fromID(id)
		if err != nil {
			t.Fatalf("%s: %v", token, err)
		}
		for key, def := range k.defaults {
			if _, ok := in[key]; !ok {
				in[key] = def
			}
		}
		if got := k.idOf(in); got != id {
			t.Errorf("%s: import ID %q → inputs %v → ID %q", token, id, in, got)
		}
	}
}

func TestMalformedImportIDsAreRejected(t *testing.T) {
	bad := map[string]string{
		"vault:index/userpassAuthBackendUser:UserpassAuthBackendUser": "userpass/alice",
		"vault:kubernetes/authBackendRole:AuthBackendRole":            "auth/kubernetes/roles/app",
		"vault:kv/secretBackendV2:SecretBackendV2":                    "/config",
		"vault:index/policy:Policy":                                   "",
	}
	for token, id := range bad {
		if _, err := mustKind(t, token).fromID(id); err == nil {
			t.Errorf("%s accepted import ID %q", token, id)
		}
	}
}

func TestNotImportableUpstream(t *testing.T) {
	for _, token := range []string{
		"vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert",
		"vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest",
		"vault:appRole/authBackendRoleSecretId:AuthBackendRoleSecretId",
	} {
		if mustKind(t, token).fromID != nil {
			t.Errorf("%s: importable here but not upstream", token)
		}
	}
}

func replaces(k *kind, olds, news props) []string {
	var out []string
	for _, key := range diffKeys(k, olds, news) {
		for _, r := range k.replaceOn {
			if r == "*" || r == key {
				out = append(out, key)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestReplaceVersusUpdate(t *testing.T) {
	role := mustKind(t, "vault:kubernetes/authBackendRole:AuthBackendRole")
	old := props{"backend": "kubernetes", "roleName": "app", "tokenTtl": 600.0}
	if r := replaces(role, old, props{"backend": "kubernetes", "roleName": "app", "tokenTtl": 900.0}); len(r) != 0 {
		t.Errorf("a TTL change replaced the role: %v", r)
	}
	if r := replaces(role, old, props{"backend": "kubernetes", "roleName": "other", "tokenTtl": 600.0}); !reflect.DeepEqual(r, []string{"roleName"}) {
		t.Errorf("a rename did not replace: %v", r)
	}
	mount := mustKind(t, "vault:index/mount:Mount")
	if r := replaces(mount, props{"path": "kv", "type": "kv"}, props{"path": "kv", "type": "pki"}); !reflect.DeepEqual(r, []string{"type"}) {
		t.Errorf("mount type change: %v", r)
	}
	if r := replaces(mount, props{"path": "kv", "description": "a"}, props{"path": "kv", "description": "b"}); len(r) != 0 {
		t.Errorf("a description change replaced the mount: %v", r)
	}
	policy := mustKind(t, "vault:index/policy:Policy")
	if r := replaces(policy, props{"name": "a", "policy": "x"}, props{"name": "a", "policy": "y"}); len(r) != 0 {
		t.Errorf("a policy text change replaced the policy: %v", r)
	}
	root := mustKind(t, "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert")
	if r := replaces(root, props{"commonName": "a"}, props{"commonName": "b"}); len(r) != 1 {
		t.Errorf("root cert inputs must all replace: %v", r)
	}
}

func TestNormalizedComparison(t *testing.T) {
	user := mustKind(t, "vault:index/userpassAuthBackendUser:UserpassAuthBackendUser")
	live := props{"mount": "userpass", "username": "a", "tokenPolicies": []any{"b", "a"}, "tokenTtl": 3600.0,
		"tokenType": "default", "tokenNumUses": 0.0, "tokenBoundCidrs": []any{}}
	program := props{"mount": "userpass", "username": "a", "tokenPolicies": []any{"a", "b"}, "tokenTtl": 3600.0}
	if d := diffKeys(user, live, program); len(d) != 0 {
		t.Errorf("set order, defaults and absent fields must compare equal: %v", d)
	}
	program["tokenPolicies"] = []any{"a", "b", "admin"}
	if d := diffKeys(user, live, program); !reflect.DeepEqual(d, []string{"tokenPolicies"}) {
		t.Errorf("an extra policy must show: %v", d)
	}
	program["passwordWo"], program["passwordWoVersion"] = "s3cret", 1.0
	delete(program, "tokenPolicies")
	program["tokenPolicies"] = []any{"a", "b"}
	if d := diffKeys(user, live, program); !reflect.DeepEqual(d, []string{"passwordWoVersion"}) {
		t.Errorf("write-only password is never compared, its version is: %v", d)
	}

	pki := mustKind(t, "vault:pkiSecret/secretBackendRole:SecretBackendRole")
	fromVault := pki.fromAPI(map[string]any{"ttl": 3600.0, "max_ttl": 0.0, "key_bits": 2048.0,
		"allowed_domains": []any{"b.example", "a.example"}, "allow_localhost": true})
	if fromVault["ttl"] != "3600" {
		t.Errorf("upstream pki role ttl is a string of seconds, got %#v", fromVault["ttl"])
	}
	if d := diffKeys(pki, fromVault, props{"ttl": "1h", "maxTtl": "0s", "keyBits": 2048.0,
		"allowedDomains": []any{"b.example", "a.example"}}); len(d) != 0 {
		t.Errorf("TTLs compare in seconds, defaults as Vault's: %v", d)
	}
	if d := diffKeys(pki, fromVault, props{"ttl": "2h", "allowedDomains": []any{"a.example", "b.example"}}); !reflect.DeepEqual(d, []string{"allowedDomains", "ttl"}) {
		t.Errorf("allowed_domains is a list (order matters) and a TTL change shows: %v", d)
	}
	if d := diffKeys(pki, fromVault, props{"allowedDomains": []any{"b.example", "a.example"}}); len(d) != 0 {
		t.Errorf("Optional+Computed ttl left out must not diff: %v", d)
	}

	aws := mustKind(t, "vault:aws/secretBackendRole:SecretBackendRole")
	if d := diffKeys(aws, props{"policyDocument": `{"Version":"2012-10-17","Statement":[]}`},
		props{"policyDocument": "{\"Statement\": [], \"Version\": \"2012-10-17\"}"}); len(d) != 0 {
		t.Errorf("IAM policies compare as JSON: %v", d)
	}
	k8s := mustKind(t, "vault:kubernetes/authBackendConfig:AuthBackendConfig")
	if d := diffKeys(k8s, props{"kubernetesCaCert": "PEM\n"}, props{"kubernetesCaCert": "PEM"}); len(d) != 0 {
		t.Errorf("a PEM compares without surrounding whitespace: %v", d)
	}
	kv := mustKind(t, "vault:kv/secretBackendV2:SecretBackendV2")
	if d := diffKeys(kv, kv.fromAPI(map[string]any{"delete_version_after": "0s", "max_versions": 0.0,
		"cas_required": false}), props{"mount": nil}); len(d) != 0 {
		t.Errorf("Vault's \"0s\" and absent are the same: %v", d)
	}
}

func TestTTLParsing(t *testing.T) {
	for in, want := range map[any]int64{"90s": 90, "1h30m": 5400, "2d": 172800, 3600.0: 3600, "3600": 3600} {
		if got, ok := seconds64(in); !ok || got != want {
			t.Errorf("seconds64(%v) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

func TestMountFieldsFromNestedConfig(t *testing.T) {
	m := mustKind(t, "vault:index/mount:Mount")
	flat := map[string]any{"type": "kv", "options": map[string]any{"version": "2"},
		"config.max_lease_ttl": 0.0, "config.default_lease_ttl": 60.0}
	got := m.fromAPI(flat)
	if got["defaultLeaseTtlSeconds"] != 60.0 || got["type"] != "kv" {
		t.Errorf("mount fields: %v", got)
	}
	if d := diffKeys(m, got, props{"type": "kv", "options": map[string]any{"version": "2"}}); len(d) != 0 {
		t.Errorf("computed lease TTLs left out must not diff: %v", d)
	}
}
