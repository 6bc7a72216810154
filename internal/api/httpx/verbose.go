package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"rb_module_rustack/internal/logging"
)

// maxLoggedBody bounds how much of one body the verbose log shows.
const maxLoggedBody = 8 << 10

const redacted = "<redacted>"

// verboseTransport logs each attempt of each request (curl_verbose): method,
// URL, status, duration, headers and bodies, with every credential redacted.
type verboseTransport struct {
	next    http.RoundTripper
	log     logging.Log
	secrets []string // values scrubbed from whatever is left, as a last resort
}

func (t *verboseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.log.Debugf("REST %s %s -> error after %s: %v\n  request headers: %s\n  request body: %s",
			req.Method, RedactURL(req.URL), time.Since(start).Round(time.Millisecond), err,
			t.headers(req.Header), t.body(reqBody, req.Header.Get("Content-Type")))
		return nil, err
	}
	respBody, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	elapsed := time.Since(start).Round(time.Millisecond)
	t.log.Debugf("REST %s %s -> %d in %s\n  request headers: %s\n  request body: %s\n  response headers: %s\n  response body: %s",
		req.Method, RedactURL(req.URL), resp.StatusCode, elapsed,
		t.headers(req.Header), t.body(reqBody, req.Header.Get("Content-Type")),
		t.headers(resp.Header), t.body(respBody, resp.Header.Get("Content-Type")))
	if rerr != nil {
		return nil, rerr
	}
	return resp, nil
}

// secretHeader reports the headers that are never shown.
func secretHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "X-Auth-Token", "X-Subject-Token", "X-Service-Token", "Authorization",
		"Proxy-Authorization", "Cookie", "Set-Cookie":
		return true
	}
	return false
}

func (t *verboseTransport) headers(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		v := strings.Join(h[k], ", ")
		if secretHeader(k) {
			v = redacted
		}
		b.WriteString(k + ": " + v)
	}
	return t.scrub(b.String())
}

func (t *verboseTransport) body(b []byte, contentType string) string {
	if len(b) == 0 {
		return "(empty)"
	}
	out := RedactJSON(b)
	if out == nil {
		if strings.Contains(contentType, "json") || looksJSON(b) {
			out = []byte(fmt.Sprintf("(%d bytes of unparsable JSON, not shown)", len(b)))
		} else {
			out = b
		}
	}
	s := t.scrub(string(out))
	if len(s) > maxLoggedBody {
		s = fmt.Sprintf("%s... (%d more bytes)", s[:maxLoggedBody], len(s)-maxLoggedBody)
	}
	return s
}

func (t *verboseTransport) scrub(s string) string {
	for _, sec := range t.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// RedactJSON returns the JSON document b with every credential replaced by
// "<redacted>": every scalar under a member whose name contains "password",
// "passwd", "passcode", "adminpass", "secret", "private_key" or
// "auth_token" (Keystone's {"password": {"user": {...}}} method object keeps
// the user's name and domain visible but not its "password"), and the "id"
// of any "token" object (Keystone's token method). It returns nil when b is
// not a single JSON document.
func RedactJSON(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	if dec.More() {
		return nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redactValue(v, "", false)); err != nil {
		return nil
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "adminpass", "secret", "private_key", "auth_token", "passcode"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactValue copies v with secrets replaced; under says v sits below a
// secret member, so every scalar in it is a secret.
func redactValue(v any, parentKey string, under bool) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			switch {
			case secretKey(k):
				obj, _ := val.(map[string]any)
				if _, isUser := obj["user"]; isUser && strings.EqualFold(k, "password") {
					m[k] = redactValue(val, k, under) // Keystone's method object
				} else {
					m[k] = redactValue(val, k, true)
				}
			case strings.EqualFold(parentKey, "token") && strings.EqualFold(k, "id"):
				m[k] = redacted
			default:
				m[k] = redactValue(val, k, under)
			}
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = redactValue(val, parentKey, under)
		}
		return l
	}
	if under && v != nil {
		return redacted
	}
	return v
}
