package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client is a minimal Vault HTTP API client: JSON in, JSON out, the token in a header (never in a URL).
type client struct {
	addr  string
	token string
	http  *http.Client
}

func newClient(addr, token string) *client {
	return &client{addr: strings.TrimRight(addr, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second}}
}

// vaultError carries the status and Vault's own error list (which never contains request secrets).
type vaultError struct {
	method, path string
	status       int
	errors       []string
}

func (e *vaultError) Error() string {
	return fmt.Sprintf("vault %s /v1/%s: HTTP %d: %s", e.method, e.path, e.status, strings.Join(e.errors, "; "))
}

func isNotFound(err error) bool {
	ve, ok := err.(*vaultError)
	return ok && ve.status == http.StatusNotFound
}

// do sends one request; a nil body sends no body. It returns the response's "data" (or the whole document
// when there is no "data" key).
func (c *client) do(method, path string, body map[string]any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.addr+"/v1/"+strings.TrimLeft(path, "/"), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vault %s /v1/%s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("vault %s /v1/%s: HTTP %d with a body that is not JSON", method, path, resp.StatusCode)
		}
	}
	if resp.StatusCode >= 400 {
		ve := &vaultError{method: method, path: path, status: resp.StatusCode}
		if errs, ok := doc["errors"].([]any); ok {
			for _, e := range errs {
				ve.errors = append(ve.errors, fmt.Sprint(e))
			}
		}
		return nil, ve
	}
	if data, ok := doc["data"].(map[string]any); ok {
		return data, nil
	}
	return doc, nil
}

func (c *client) get(path string) (map[string]any, error) { return c.do(http.MethodGet, path, nil) }
func (c *client) post(path string, body map[string]any) (map[string]any, error) {
	if body == nil {
		body = map[string]any{}
	}
	return c.do(http.MethodPost, path, body)
}
func (c *client) del(path string) error { _, err := c.do(http.MethodDelete, path, nil); return err }
