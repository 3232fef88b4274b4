package main

// Reading live objects back, and comparing values the way the upstream provider compares them.
//
// The upstream pulumi-vault bridges hashicorp/terraform-provider-vault: its Read sets every schema field from
// what Vault returns (so `pulumi refresh` sees a hand edit), and Terraform compares a field that the program
// leaves out with the schema's default (a null string equals "", a null number 0, a null bool false), a
// TypeSet without order, a duration in whole seconds, and a JSON document by meaning. This file declares, per
// resource, the fields Read returns and how each is compared; kinds.go names the upstream file of each.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

type ftype int

const (
	fString ftype = iota
	fInt
	fBool
	fSet  // TypeSet: order does not matter (token_policies, bound names, policy_arns)
	fList // TypeList: order matters (allowed_domains, URLs)
	fTTL  // a duration: number of seconds, or "90s"/"1h" strings Vault accepts; compared in seconds
	fJSON // a JSON document compared by meaning (IAM policies)
	fText // text compared without surrounding whitespace (PEM certificates, which Vault re-terminates)
	fMap  // map of strings
)

// field is one input Read sets from the live object: `api` is the key in Vault's response, def the value
// the upstream schema defaults to (compared against when the program leaves the field out).
type field struct {
	api      string
	typ      ftype
	def      any
	computed bool // Optional+Computed upstream: left out by the program, whatever Vault holds is kept
}

// canon turns a value into the form two values are compared in; nil becomes the type's default.
func canon(f field, v any) any {
	if v == nil {
		v = f.def
	}
	switch f.typ {
	case fString, fText:
		s, _ := v.(string)
		if f.typ == fText {
			s = strings.TrimSpace(s)
		}
		return s
	case fBool:
		b, _ := v.(bool)
		return b
	case fInt:
		n, _ := number(v)
		return n
	case fTTL:
		n, ok := seconds64(v)
		if !ok {
			return fmt.Sprint(v) // unparsable: compared as text, so a change still shows
		}
		return n
	case fSet, fList:
		out := []string{}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				out = append(out, fmt.Sprint(e))
			}
		} else if list, ok := v.([]string); ok {
			out = append(out, list...)
		} else if s, ok := v.(string); ok && s != "" { // Vault returns some lists as comma-separated text
			for _, e := range strings.Split(s, ",") {
				out = append(out, strings.TrimSpace(e))
			}
		}
		if f.typ == fSet {
			sort.Strings(out)
			out = dedupe(out)
		}
		return out
	case fJSON:
		s, _ := v.(string)
		if strings.TrimSpace(s) == "" {
			return nil
		}
		var doc any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return s
		}
		return doc
	case fMap:
		out := map[string]string{}
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				out[k] = fmt.Sprint(e)
			}
		}
		return out
	}
	return v
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func number(v any) (int64, bool) {
	switch t := v.(type) {
	case float64:
		return int64(t), true
	case int:
		return int64(t), true
	case int64:
		return t, true
	case json.Number:
		n, err := t.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// seconds64 reads a duration the way Vault's parseutil does: a bare number is seconds, else a Go duration
// with the "d" unit Vault also accepts.
func seconds64(v any) (int64, bool) {
	if n, ok := number(v); ok {
		return n, true
	}
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.ParseInt(strings.TrimSuffix(s, "d"), 10, 64); err == nil {
			return n * 86400, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return int64(d / time.Second), true
}

// equal says whether two values of input `key` are the same to the upstream provider.
func (k *kind) equal(key string, a, b any) bool {
	if f, ok := k.fields[key]; ok {
		return reflect.DeepEqual(canon(f, a), canon(f, b))
	}
	if a == nil || b == nil { // an undeclared input: absent equals its zero value, as in Terraform
		return isZero(a) && isZero(b)
	}
	return reflect.DeepEqual(a, b)
}

func isZero(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case float64:
		return t == 0
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// fromAPI maps a live Vault response onto the declared inputs, in the form the program writes them
// (TTLs as numbers of seconds unless the upstream field is a string, sets sorted).
func (k *kind) fromAPI(data map[string]any) props {
	out := props{}
	for name, f := range k.fields {
		v, ok := data[f.api]
		if !ok || v == nil {
			continue
		}
		switch f.typ {
		case fTTL:
			if n, ok := seconds64(v); ok {
				if _, isString := f.def.(string); isString { // upstream string field (PKI role ttl)
					v = strconv.FormatInt(n, 10)
				} else {
					v = float64(n)
				}
			}
		case fInt:
			if n, ok := number(v); ok {
				v = float64(n)
			}
		case fSet:
			list := canon(f, v).([]string)
			vs := make([]any, len(list))
			for i, s := range list {
				vs[i] = s
			}
			v = vs
		case fJSON:
			if m, ok := v.(map[string]any); ok { // some Vault versions return the document parsed
				b, _ := json.Marshal(m)
				v = string(b)
			}
		}
		out[name] = v
	}
	return out
}
