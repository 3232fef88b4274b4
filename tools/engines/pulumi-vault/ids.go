package main

// Per resource: the upstream import ID, the fields Read takes from the live object, and their defaults.
// Each block names the hashicorp/terraform-provider-vault file it follows (read for facts, not copied).

import (
	"fmt"
	"regexp"
	"strings"
)

// tokenFields are the token_* parameters every auth role shares (upstream vault/token_fields.go /
// util/token_fields.go: token_policies and token_bound_cidrs are TypeSet, the TTLs whole seconds).
func tokenFields(extra map[string]field) map[string]field {
	out := map[string]field{
		"tokenPolicies":        {api: "token_policies", typ: fSet},
		"tokenTtl":             {api: "token_ttl", typ: fTTL, def: 0.0},
		"tokenMaxTtl":          {api: "token_max_ttl", typ: fTTL, def: 0.0},
		"tokenExplicitMaxTtl":  {api: "token_explicit_max_ttl", typ: fTTL, def: 0.0},
		"tokenPeriod":          {api: "token_period", typ: fTTL, def: 0.0},
		"tokenNumUses":         {api: "token_num_uses", typ: fInt},
		"tokenNoDefaultPolicy": {api: "token_no_default_policy", typ: fBool},
		"tokenBoundCidrs":      {api: "token_bound_cidrs", typ: fSet},
		"tokenType":            {api: "token_type", typ: fString, def: "default"},
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var (
	reUser    = regexp.MustCompile(`^auth/(.+)/users/([^/]+)$`)
	reAuthRol = regexp.MustCompile(`^auth/(.+)/role/([^/]+)$`)
	reRoles   = regexp.MustCompile(`^(.+)/roles/([^/]+)$`)
	reAuthCfg = regexp.MustCompile(`^auth/(.+)/config$`)
)

func match(re *regexp.Regexp, id, format string) ([]string, error) {
	m := re.FindStringSubmatch(id)
	if m == nil {
		return nil, fmt.Errorf("import ID %q is not of the form %s", id, format)
	}
	return m, nil
}

func suffixed(id, suffix, format string) (string, error) {
	if !strings.HasSuffix(id, suffix) || len(id) == len(suffix) {
		return "", fmt.Errorf("import ID %q is not of the form %s", id, format)
	}
	return strings.TrimSuffix(id, suffix), nil
}

func plain(key string) func(string) (props, error) {
	return func(id string) (props, error) {
		if id == "" || strings.HasPrefix(id, "/") {
			return nil, fmt.Errorf("import ID %q is not a plain name", id)
		}
		return props{key: id}, nil
	}
}

func roleID(re *regexp.Regexp, format, mountKey, nameKey string) func(string) (props, error) {
	return func(id string) (props, error) {
		m, err := match(re, id, format)
		if err != nil {
			return nil, err
		}
		return props{mountKey: m[1], nameKey: m[2]}, nil
	}
}

// mountInfo reads sys/mounts/<path> (or sys/auth/<path>); nil when the mount is gone.
func mountInfo(c *client, auth bool, path string) (map[string]any, error) {
	prefix := "sys/mounts/"
	if auth {
		prefix = "sys/auth/"
	}
	info, err := c.get(prefix + path)
	if err != nil {
		if ve, ok := err.(*vaultError); ok && (ve.status == 400 || ve.status == 404) {
			return nil, nil
		}
		return nil, err
	}
	flat := map[string]any{}
	for k, v := range info {
		flat[k] = v
	}
	if cfg, ok := info["config"].(map[string]any); ok {
		for k, v := range cfg {
			flat["config."+k] = v
		}
	}
	return flat, nil
}

var mountFields = map[string]field{
	"type":                   {api: "type", typ: fString},
	"description":            {api: "description", typ: fString},
	"local":                  {api: "local", typ: fBool},
	"sealWrap":               {api: "seal_wrap", typ: fBool},
	"options":                {api: "options", typ: fMap},
	"defaultLeaseTtlSeconds": {api: "config.default_lease_ttl", typ: fInt, computed: true},
	"maxLeaseTtlSeconds":     {api: "config.max_lease_ttl", typ: fInt, computed: true},
}

func init() {
	// vault/resource_policy.go: ID = name; `name` ForceNew; `policy` compared as written (Vault keeps the
	// text byte for byte, so a hand edit, even of whitespace, is a change).
	set("vault:index/policy:Policy", func(k *kind) {
		k.id = func(in props) string { return str(in, "name") }
		k.fromID = plain("name")
		k.fields = map[string]field{"policy": {api: "policy", typ: fString}}
	})
	// vault/resource_auth_backend.go: ID = path; type and local ForceNew; accessor computed. `tune` is not
	// read back (a gap: see tools/engines/pulumi/README.md).
	set("vault:index/authBackend:AuthBackend", func(k *kind) {
		k.id = func(in props) string { return orDefault(in, "path", str(in, "type")) }
		k.fromID = plain("path")
		k.fields = map[string]field{"type": mountFields["type"], "description": mountFields["description"],
			"local": mountFields["local"]}
		k.readLive = func(c *client, in props) (props, error) {
			info, err := mountInfo(c, true, orDefault(in, "path", str(in, "type")))
			if info == nil || err != nil {
				return nil, err
			}
			out := k.fromAPI(info)
			out["accessor"] = info["accessor"]
			return out, nil
		}
	})
	// vault/resource_mount.go: ID = path; type, local, seal_wrap ForceNew; lease TTLs Optional+Computed
	// (left out: whatever Vault holds).
	set("vault:index/mount:Mount", func(k *kind) {
		k.id = func(in props) string { return str(in, "path") }
		k.fromID = plain("path")
		k.fields = mountFields
		k.readLive = func(c *client, in props) (props, error) {
			info, err := mountInfo(c, false, str(in, "path"))
			if info == nil || err != nil {
				return nil, err
			}
			out := k.fromAPI(info)
			out["accessor"] = info["accessor"]
			return out, nil
		}
	})
	// internal/vault/auth/userpass/user_resource.go (a plugin-framework resource): import ID
	// `auth/<mount>/users/<username>`; mount and username RequiresReplace; token_* from the shared token
	// schema; password_wo is WriteOnly, never read back. (Upstream writes password_wo on every create/update
	// while it is in the config; here only when password_wo_version changes: the same value either way.)
	set("vault:index/userpassAuthBackendUser:UserpassAuthBackendUser", func(k *kind) {
		k.id = k.path
		k.fromID = roleID(reUser, "auth/<mount>/users/<username>", "mount", "username")
		k.fields = tokenFields(nil)
	})
	// vault/resource_kv_secret_backend_v2.go: ID = <mount>/config; mount ForceNew; delete_version_after in
	// seconds (Vault answers "0s").
	set("vault:kv/secretBackendV2:SecretBackendV2", func(k *kind) {
		k.id = k.path
		k.fromID = func(id string) (props, error) {
			m, err := suffixed(id, "/config", "<mount>/config")
			return props{"mount": m}, err
		}
		k.fields = map[string]field{
			"maxVersions":        {api: "max_versions", typ: fInt},
			"casRequired":        {api: "cas_required", typ: fBool},
			"deleteVersionAfter": {api: "delete_version_after", typ: fTTL, def: 0.0},
		}
	})
	// vault/resource_kv_secret_v2.go: ID = <mount>/data/<name>. Read only checks existence here: the data
	// would land in state unmarked (our provider does not take secrets), so a value edited by hand is not seen.
	set("vault:kv/secretV2:SecretV2", func(k *kind) {
		k.id = k.path
	})
	// vault/resource_pki_secret_backend_config_urls.go: ID = <backend>/config/urls; lists keep their order.
	set("vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls", func(k *kind) {
		k.id = k.path
		k.fromID = func(id string) (props, error) {
			b, err := suffixed(id, "/config/urls", "<backend>/config/urls")
			return props{"backend": b}, err
		}
		k.fields = map[string]field{
			"issuingCertificates":   {api: "issuing_certificates", typ: fList},
			"crlDistributionPoints": {api: "crl_distribution_points", typ: fList},
			"ocspServers":           {api: "ocsp_servers", typ: fList},
		}
	})
	// vault/resource_pki_secret_backend_role.go: ID = <backend>/roles/<name>; backend and name ForceNew;
	// ttl/max_ttl are strings upstream (Optional+Computed), compared in seconds here; defaults as Vault's.
	set("vault:pkiSecret/secretBackendRole:SecretBackendRole", func(k *kind) {
		k.id = k.path
		k.fromID = roleID(reRoles, "<backend>/roles/<name>", "backend", "name")
		k.fields = map[string]field{
			"allowedDomains":   {api: "allowed_domains", typ: fList},
			"allowSubdomains":  {api: "allow_subdomains", typ: fBool},
			"allowBareDomains": {api: "allow_bare_domains", typ: fBool},
			"allowLocalhost":   {api: "allow_localhost", typ: fBool, def: true},
			"allowIpSans":      {api: "allow_ip_sans", typ: fBool, def: true},
			"ttl":              {api: "ttl", typ: fTTL, def: "", computed: true},
			"maxTtl":           {api: "max_ttl", typ: fTTL, def: "", computed: true},
			"keyType":          {api: "key_type", typ: fString, def: "rsa"},
			"keyBits":          {api: "key_bits", typ: fInt, def: 2048.0},
			"serverFlag":       {api: "server_flag", typ: fBool, def: true},
			"clientFlag":       {api: "client_flag", typ: fBool, def: true},
		}
	})
	// vault/resource_aws_secret_backend.go: ID = path; path ForceNew here (upstream remounts); secret_key is
	// Sensitive and never returned by Vault, so after an import it is unknown to state and the first
	// update writes it (upstream shows the same diff).
	set("vault:aws/secretBackend:SecretBackend", func(k *kind) {
		k.id = func(in props) string { return orDefault(in, "path", "aws") }
		k.fromID = plain("path")
		k.fields = map[string]field{
			"description":            mountFields["description"],
			"defaultLeaseTtlSeconds": mountFields["defaultLeaseTtlSeconds"],
			"maxLeaseTtlSeconds":     mountFields["maxLeaseTtlSeconds"],
			"accessKey":              {api: "access_key", typ: fString},
			"region":                 {api: "region", typ: fString, computed: true},
			"iamEndpoint":            {api: "iam_endpoint", typ: fString},
			"stsEndpoint":            {api: "sts_endpoint", typ: fString},
		}
		k.readLive = func(c *client, in props) (props, error) {
			path := orDefault(in, "path", "aws")
			info, err := mountInfo(c, false, path)
			if info == nil || err != nil {
				return nil, err
			}
			root, err := c.get(path + "/config/root")
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			for key, v := range root {
				info[key] = v
			}
			out := k.fromAPI(info)
			out["accessor"] = info["accessor"]
			return out, nil
		}
	})
	// vault/resource_aws_secret_backend_role.go: ID = <backend>/roles/<name>; policy_document compared as
	// JSON; policy_arns, role_arns, iam_groups are sets.
	set("vault:aws/secretBackendRole:SecretBackendRole", func(k *kind) {
		k.id = k.path
		k.fromID = roleID(reRoles, "<backend>/roles/<name>", "backend", "name")
		k.fields = map[string]field{
			"credentialType": {api: "credential_type", typ: fString},
			"policyDocument": {api: "policy_document", typ: fJSON},
			"policyArns":     {api: "policy_arns", typ: fSet},
			"roleArns":       {api: "role_arns", typ: fSet},
			"iamGroups":      {api: "iam_groups", typ: fSet},
			"defaultStsTtl":  {api: "default_sts_ttl", typ: fTTL, def: 0.0, computed: true},
			"maxStsTtl":      {api: "max_sts_ttl", typ: fTTL, def: 0.0, computed: true},
		}
	})
	// vault/resource_kubernetes_auth_backend_config.go: ID = auth/<backend>/config; token_reviewer_jwt is
	// Sensitive and not returned; the CA PEM compared without surrounding whitespace.
	set("vault:kubernetes/authBackendConfig:AuthBackendConfig", func(k *kind) {
		k.id = k.path
		k.fromID = func(id string) (props, error) {
			m, err := match(reAuthCfg, id, "auth/<backend>/config")
			if err != nil {
				return nil, err
			}
			return props{"backend": m[1]}, nil
		}
		k.fields = map[string]field{
			"kubernetesHost":       {api: "kubernetes_host", typ: fString},
			"kubernetesCaCert":     {api: "kubernetes_ca_cert", typ: fText},
			"disableLocalCaJwt":    {api: "disable_local_ca_jwt", typ: fBool},
			"disableIssValidation": {api: "disable_iss_validation", typ: fBool, computed: true},
			"issuer":               {api: "issuer", typ: fString},
			"pemKeys":              {api: "pem_keys", typ: fList},
		}
	})
	// vault/resource_kubernetes_auth_backend_role.go: ID = auth/<backend>/role/<role_name>; bound names
	// and namespaces are sets; alias_name_source Optional+Computed.
	set("vault:kubernetes/authBackendRole:AuthBackendRole", func(k *kind) {
		k.id = k.path
		k.fromID = roleID(reAuthRol, "auth/<backend>/role/<role_name>", "backend", "roleName")
		k.fields = tokenFields(map[string]field{
			"boundServiceAccountNames":      {api: "bound_service_account_names", typ: fSet},
			"boundServiceAccountNamespaces": {api: "bound_service_account_namespaces", typ: fSet},
			"audience":                      {api: "audience", typ: fString},
			"aliasNameSource":               {api: "alias_name_source", typ: fString, computed: true},
		})
	})
	// vault/resource_approle_auth_backend_role.go: ID = auth/<backend>/role/<role_name>; role_id
	// Optional+Computed (read from role-id); bind_secret_id defaults to true.
	set("vault:appRole/authBackendRole:AuthBackendRole", func(k *kind) {
		k.id = k.path
		k.fromID = roleID(reAuthRol, "auth/<backend>/role/<role_name>", "backend", "roleName")
		k.fields = tokenFields(map[string]field{
			"secretIdTtl":        {api: "secret_id_ttl", typ: fTTL, def: 0.0},
			"secretIdNumUses":    {api: "secret_id_num_uses", typ: fInt},
			"bindSecretId":       {api: "bind_secret_id", typ: fBool, def: true},
			"secretIdBoundCidrs": {api: "secret_id_bound_cidrs", typ: fSet},
			"roleId":             {api: "role_id", typ: fString, computed: true},
		})
		k.readLive = func(c *client, in props) (props, error) {
			path := k.path(in)
			data, err := c.get(path)
			if isNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			rid, err := c.get(path + "/role-id")
			if err != nil {
				return nil, err
			}
			data["role_id"] = rid["role_id"]
			return k.fromAPI(data), nil
		}
	})
	// vault/resource_pki_secret_backend_root_cert.go, _intermediate_cert_request.go,
	// _root_sign_intermediate.go, _intermediate_set_signed.go and approle _role_secret_id.go: every input
	// ForceNew, no importer upstream (a CA's key cannot be adopted); Read checks the mount is still there.
}

func set(token string, f func(k *kind)) {
	k, ok := kinds[token]
	if !ok {
		panic("fidelity for unknown token " + token)
	}
	f(k)
}

// idOf is the upstream resource ID of an object with inputs `in`.
func (k *kind) idOf(in props) string {
	if k.id != nil {
		return k.id(in)
	}
	return k.path(in)
}

// live reads the object's current inputs; nil when it is gone. Kinds without declared fields only check
// existence and keep `in` as it is.
func (k *kind) live(c *client, in props) (props, error) {
	if k.readLive != nil {
		return k.readLive(c, in)
	}
	if k.fields != nil {
		data, err := c.get(k.path(in))
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if data == nil {
			return nil, nil
		}
		return k.fromAPI(data), nil
	}
	exists := true
	var err error
	switch {
	case k.exists != nil:
		exists, err = k.exists(c, in)
	case k.noDelete:
	default:
		_, err = c.get(k.path(in))
		if isNotFound(err) {
			exists, err = false, nil
		}
	}
	if err != nil || !exists {
		return nil, err
	}
	return props{}, nil
}
