package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

type props = map[string]any

// kind says how one Pulumi resource token maps onto the Vault HTTP API.
//
// Most resources are "an object at a path": create and update write the inputs (camelCase → snake_case) to
// path(inputs), refresh reads it back, delete deletes it. The hooks override that where Vault differs.
type kind struct {
	path      func(in props) string
	skip      []string                                         // inputs that name the path, never sent in the body
	replaceOn []string                                         // inputs whose change means a new object ("*" = any input)
	defaults  map[string]any                                   // applied in Check, like the schema defaults of the real provider
	writeOnly map[string]string                                // write-only input → the input whose change makes it be sent again
	rename    map[string]string                                // input → API field, where snake_case is not the API name
	noDelete  bool                                             // Vault has nothing to delete (config endpoints, one-shot operations)
	create    func(c *client, in props) (props, error)         // returns computed outputs
	update    func(c *client, olds, news props) (props, error) // default: create's write again
	remove    func(c *client, in props) error
	exists    func(c *client, in props) (bool, error)

	// Fidelity to the upstream provider (see fields.go and ids.go).
	fields   map[string]field                         // inputs Read takes from the live object, and how each compares
	id       func(in props) string                    // the upstream resource ID (default: path)
	fromID   func(id string) (props, error)           // `pulumi import`: the inputs an upstream ID names; nil: not importable
	readLive func(c *client, in props) (props, error) // the live inputs (default: GET path, mapped by fields); nil map: gone
	computed func(c *client, in props) (props, error) // computed outputs refreshed by Read (accessor, role_id)
}

func str(in props, k string) string {
	if v, ok := in[k].(string); ok {
		return v
	}
	return ""
}

// snake turns a Pulumi property name into the Vault API's: tokenPolicies → token_policies.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// body is the API request for inputs `in`: every input but the path ones, the write-only ones (added by the
// caller when they must be sent) and namespace, renamed to the API's names.
func (k *kind) body(in props) map[string]any {
	skip := map[string]bool{"namespace": true}
	for _, s := range k.skip {
		skip[s] = true
	}
	for wo, version := range k.writeOnly {
		skip[wo], skip[version] = true, true
	}
	out := map[string]any{}
	for key, v := range in {
		if skip[key] {
			continue
		}
		name := snake(key)
		if r, ok := k.rename[key]; ok {
			name = r
		}
		if name == "" {
			continue
		}
		out[name] = v
	}
	return out
}

func (k *kind) writeWithSecrets(c *client, in props, sendWriteOnly bool) error {
	b := k.body(in)
	if sendWriteOnly {
		for wo := range k.writeOnly {
			if v, ok := in[wo]; ok {
				b[k.rename[wo]] = v
			}
		}
	}
	_, err := c.post(k.path(in), b)
	return err
}

func seconds(v any) any {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%ds", int64(f))
	}
	return v
}

func mountConfig(in props) map[string]any {
	cfg := map[string]any{}
	if v, ok := in["defaultLeaseTtlSeconds"]; ok {
		cfg["default_lease_ttl"] = seconds(v)
	}
	if v, ok := in["maxLeaseTtlSeconds"]; ok {
		cfg["max_lease_ttl"] = seconds(v)
	}
	return cfg
}

// mountAt enables a secrets engine (or, with auth, an auth method) and reports its accessor.
func mountAt(c *client, auth bool, path, typ string, in props) (props, error) {
	prefix := "sys/mounts/"
	body := map[string]any{"type": typ, "description": in["description"], "local": in["local"]}
	if auth {
		prefix = "sys/auth/"
		if tune, ok := in["tune"].(map[string]any); ok {
			body["config"] = snakeKeys(tune)
		}
	} else {
		body["config"] = mountConfig(in)
		body["options"] = in["options"]
		body["seal_wrap"] = in["sealWrap"]
	}
	if _, err := c.post(prefix+path, body); err != nil {
		return nil, err
	}
	info, err := c.get(prefix + path)
	if err != nil {
		return nil, err
	}
	return props{"accessor": info["accessor"]}, nil
}

func snakeKeys(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[snake(k)] = v
	}
	return out
}

func mountExists(c *client, auth bool, path string) (bool, error) {
	prefix := "sys/mounts/"
	if auth {
		prefix = "sys/auth/"
	}
	_, err := c.get(prefix + path)
	if err != nil {
		if ve, ok := err.(*vaultError); ok && (ve.status == 400 || ve.status == 404) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// pick copies the named API response fields into outputs under their Pulumi names.
func pick(data map[string]any, names map[string]string) props {
	out := props{}
	for api, pulumi := range names {
		if v, ok := data[api]; ok {
			out[pulumi] = v
		}
	}
	return out
}

func pkiOp(path func(props) string, outputs map[string]string) func(*client, props) (props, error) {
	return func(c *client, in props) (props, error) {
		k := &kind{skip: []string{"backend", "type"}}
		data, err := c.post(path(in), k.body(in))
		if err != nil {
			return nil, err
		}
		return pick(data, outputs), nil
	}
}

func orDefault(in props, key, def string) string {
	if v := str(in, key); v != "" {
		return v
	}
	return def
}

var kinds = map[string]*kind{
	"vault:index/policy:Policy": {
		path:      func(in props) string { return "sys/policies/acl/" + str(in, "name") },
		skip:      []string{"name", "allowOverwrite"},
		replaceOn: []string{"name"},
	},
	"vault:index/authBackend:AuthBackend": {
		path:      func(in props) string { return "sys/auth/" + orDefault(in, "path", str(in, "type")) },
		replaceOn: []string{"type", "path", "local"},
		create: func(c *client, in props) (props, error) {
			return mountAt(c, true, orDefault(in, "path", str(in, "type")), str(in, "type"), in)
		},
		update: func(c *client, _, in props) (props, error) {
			path := orDefault(in, "path", str(in, "type"))
			tune := map[string]any{"description": in["description"]}
			if t, ok := in["tune"].(map[string]any); ok {
				for k, v := range snakeKeys(t) {
					tune[k] = v
				}
			}
			if _, err := c.post("sys/auth/"+path+"/tune", tune); err != nil {
				return nil, err
			}
			info, err := c.get("sys/auth/" + path)
			if err != nil {
				return nil, err
			}
			return props{"accessor": info["accessor"]}, nil
		},
		exists: func(c *client, in props) (bool, error) {
			return mountExists(c, true, orDefault(in, "path", str(in, "type")))
		},
	},
	"vault:index/mount:Mount": {
		path:      func(in props) string { return "sys/mounts/" + str(in, "path") },
		replaceOn: []string{"type", "path", "local", "sealWrap"},
		create: func(c *client, in props) (props, error) {
			return mountAt(c, false, str(in, "path"), str(in, "type"), in)
		},
		update: func(c *client, _, in props) (props, error) {
			tune := mountConfig(in)
			tune["description"] = in["description"]
			if o, ok := in["options"]; ok {
				tune["options"] = o
			}
			_, err := c.post("sys/mounts/"+str(in, "path")+"/tune", tune)
			return nil, err
		},
		exists: func(c *client, in props) (bool, error) { return mountExists(c, false, str(in, "path")) },
	},
	"vault:index/userpassAuthBackendUser:UserpassAuthBackendUser": {
		path: func(in props) string {
			return "auth/" + orDefault(in, "mount", "userpass") + "/users/" + str(in, "username")
		},
		skip:      []string{"mount", "username"},
		replaceOn: []string{"mount", "username"},
		defaults:  map[string]any{"mount": "userpass"},
		writeOnly: map[string]string{"passwordWo": "passwordWoVersion", "passwordHashWo": "passwordHashWoVersion"},
		rename:    map[string]string{"passwordWo": "password", "passwordHashWo": "password_hash"},
	},
	"vault:kv/secretBackendV2:SecretBackendV2": {
		path:      func(in props) string { return str(in, "mount") + "/config" },
		skip:      []string{"mount"},
		replaceOn: []string{"mount"},
		noDelete:  true,
		create: func(c *client, in props) (props, error) {
			b := map[string]any{}
			for _, k := range []string{"maxVersions", "casRequired"} {
				if v, ok := in[k]; ok {
					b[snake(k)] = v
				}
			}
			if v, ok := in["deleteVersionAfter"]; ok {
				b["delete_version_after"] = seconds(v)
			}
			_, err := c.post(str(in, "mount")+"/config", b)
			return nil, err
		},
	},
	"vault:kv/secretV2:SecretV2": {
		path:      func(in props) string { return str(in, "mount") + "/data/" + str(in, "name") },
		replaceOn: []string{"mount", "name"},
		create: func(c *client, in props) (props, error) {
			var data map[string]any
			if err := json.Unmarshal([]byte(str(in, "dataJson")), &data); err != nil {
				return nil, fmt.Errorf("dataJson is not a JSON object: %v", err)
			}
			body := map[string]any{"data": data}
			if o, ok := in["options"]; ok {
				body["options"] = o
			}
			if _, err := c.post(str(in, "mount")+"/data/"+str(in, "name"), body); err != nil {
				return nil, err
			}
			if md, ok := in["customMetadata"].(map[string]any); ok {
				if _, err := c.post(str(in, "mount")+"/metadata/"+str(in, "name"), snakeKeys(md)); err != nil {
					return nil, err
				}
			}
			strs := map[string]any{}
			for k, v := range data {
				strs[k] = fmt.Sprint(v)
			}
			return props{"path": str(in, "mount") + "/data/" + str(in, "name"), "data": strs}, nil
		},
		remove: func(c *client, in props) error {
			return c.del(str(in, "mount") + "/metadata/" + str(in, "name"))
		},
	},
	"vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert": {
		path:      func(in props) string { return str(in, "backend") + "/root/generate/" + str(in, "type") },
		replaceOn: []string{"*"},
		create: pkiOp(func(in props) string { return str(in, "backend") + "/root/generate/" + str(in, "type") },
			map[string]string{"certificate": "certificate", "issuing_ca": "issuingCa", "serial_number": "serialNumber",
				"issuer_id": "issuerId", "key_id": "keyId"}),
		remove: func(c *client, in props) error { return c.del(str(in, "backend") + "/root") },
		exists: func(c *client, in props) (bool, error) { return mountExists(c, false, str(in, "backend")) },
	},
	"vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest": {
		path:      func(in props) string { return str(in, "backend") + "/intermediate/generate/" + str(in, "type") },
		replaceOn: []string{"*"},
		noDelete:  true,
		create: pkiOp(func(in props) string { return str(in, "backend") + "/intermediate/generate/" + str(in, "type") },
			map[string]string{"csr": "csr", "key_id": "keyId", "private_key": "privateKey",
				"private_key_type": "privateKeyType"}),
		exists: func(c *client, in props) (bool, error) { return mountExists(c, false, str(in, "backend")) },
	},
	"vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate": {
		path:      func(in props) string { return str(in, "backend") + "/root/sign-intermediate" },
		replaceOn: []string{"*"},
		noDelete:  true,
		create: pkiOp(func(in props) string { return str(in, "backend") + "/root/sign-intermediate" },
			map[string]string{"certificate": "certificate", "issuing_ca": "issuingCa", "ca_chain": "caChain",
				"serial_number": "serialNumber"}),
		exists: func(c *client, in props) (bool, error) { return mountExists(c, false, str(in, "backend")) },
	},
	"vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned": {
		path:      func(in props) string { return str(in, "backend") + "/intermediate/set-signed" },
		replaceOn: []string{"*"},
		noDelete:  true,
		create: pkiOp(func(in props) string { return str(in, "backend") + "/intermediate/set-signed" },
			map[string]string{"imported_issuers": "importedIssuers", "imported_keys": "importedKeys"}),
		exists: func(c *client, in props) (bool, error) { return mountExists(c, false, str(in, "backend")) },
	},
	"vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls": {
		path:      func(in props) string { return str(in, "backend") + "/config/urls" },
		skip:      []string{"backend"},
		replaceOn: []string{"backend"},
		remove: func(c *client, in props) error {
			_, err := c.post(str(in, "backend")+"/config/urls", map[string]any{
				"issuing_certificates": []string{}, "crl_distribution_points": []string{}, "ocsp_servers": []string{}})
			if isNotFound(err) {
				return nil
			}
			return err
		},
	},
	"vault:pkiSecret/secretBackendRole:SecretBackendRole": {
		path:      func(in props) string { return str(in, "backend") + "/roles/" + str(in, "name") },
		skip:      []string{"backend", "name"},
		replaceOn: []string{"backend", "name"},
	},
	"vault:aws/secretBackend:SecretBackend": {
		path:      func(in props) string { return orDefault(in, "path", "aws") + "/config/root" },
		replaceOn: []string{"path"},
		defaults:  map[string]any{"path": "aws"},
		create: func(c *client, in props) (props, error) {
			path := orDefault(in, "path", "aws")
			out, err := mountAt(c, false, path, "aws", in)
			if err != nil {
				return nil, err
			}
			return out, writeAwsRoot(c, path, in)
		},
		update: func(c *client, _, in props) (props, error) {
			path := orDefault(in, "path", "aws")
			tune := mountConfig(in)
			tune["description"] = in["description"]
			if _, err := c.post("sys/mounts/"+path+"/tune", tune); err != nil {
				return nil, err
			}
			return nil, writeAwsRoot(c, path, in)
		},
		remove: func(c *client, in props) error { return c.del("sys/mounts/" + orDefault(in, "path", "aws")) },
		exists: func(c *client, in props) (bool, error) {
			return mountExists(c, false, orDefault(in, "path", "aws"))
		},
	},
	"vault:aws/secretBackendRole:SecretBackendRole": {
		path:      func(in props) string { return str(in, "backend") + "/roles/" + str(in, "name") },
		skip:      []string{"backend", "name"},
		replaceOn: []string{"backend", "name"},
	},
	"vault:kubernetes/authBackendConfig:AuthBackendConfig": {
		path:      func(in props) string { return "auth/" + orDefault(in, "backend", "kubernetes") + "/config" },
		skip:      []string{"backend"},
		replaceOn: []string{"backend"},
		defaults:  map[string]any{"backend": "kubernetes"},
		noDelete:  true,
	},
	"vault:kubernetes/authBackendRole:AuthBackendRole": {
		path: func(in props) string {
			return "auth/" + orDefault(in, "backend", "kubernetes") + "/role/" + str(in, "roleName")
		},
		skip:      []string{"backend", "roleName"},
		replaceOn: []string{"backend", "roleName"},
		defaults:  map[string]any{"backend": "kubernetes"},
	},
	"vault:appRole/authBackendRole:AuthBackendRole": {
		path: func(in props) string {
			return "auth/" + orDefault(in, "backend", "approle") + "/role/" + str(in, "roleName")
		},
		skip:      []string{"backend", "roleName", "roleId"},
		replaceOn: []string{"backend", "roleName"},
		defaults:  map[string]any{"backend": "approle"},
		create: func(c *client, in props) (props, error) {
			k := &kind{skip: []string{"backend", "roleName", "roleId"}}
			path := "auth/" + orDefault(in, "backend", "approle") + "/role/" + str(in, "roleName")
			if _, err := c.post(path, k.body(in)); err != nil {
				return nil, err
			}
			if id := str(in, "roleId"); id != "" {
				if _, err := c.post(path+"/role-id", map[string]any{"role_id": id}); err != nil {
					return nil, err
				}
			}
			data, err := c.get(path + "/role-id")
			if err != nil {
				return nil, err
			}
			return props{"roleId": data["role_id"]}, nil
		},
	},
	"vault:appRole/authBackendRoleSecretId:AuthBackendRoleSecretId": {
		path: func(in props) string {
			return "auth/" + orDefault(in, "backend", "approle") + "/role/" + str(in, "roleName") + "/secret-id"
		},
		replaceOn: []string{"*"},
		defaults:  map[string]any{"backend": "approle"},
		create: func(c *client, in props) (props, error) {
			k := &kind{skip: []string{"backend", "roleName", "withWrappedAccessor"}}
			path := "auth/" + orDefault(in, "backend", "approle") + "/role/" + str(in, "roleName") + "/secret-id"
			data, err := c.post(path, k.body(in))
			if err != nil {
				return nil, err
			}
			return props{"secretId": data["secret_id"], "accessor": data["secret_id_accessor"]}, nil
		},
		remove: func(c *client, in props) error {
			acc, _ := in["accessor"].(string)
			if acc == "" {
				return nil
			}
			path := "auth/" + orDefault(in, "backend", "approle") + "/role/" + str(in, "roleName") +
				"/secret-id-accessor/destroy"
			_, err := c.post(path, map[string]any{"secret_id_accessor": acc})
			return err
		},
		exists: func(c *client, in props) (bool, error) { return true, nil },
	},
}

func writeAwsRoot(c *client, path string, in props) error {
	root := map[string]any{}
	for _, k := range []string{"accessKey", "secretKey", "region", "iamEndpoint", "stsEndpoint", "usernameTemplate"} {
		if v, ok := in[k]; ok {
			root[snake(k)] = v
		}
	}
	_, err := c.post(path+"/config/root", root)
	return err
}

// tokens lists the resource tokens this provider serves (for its error messages and GetSchema).
func tokens() []string {
	out := make([]string, 0, len(kinds))
	for t := range kinds {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
