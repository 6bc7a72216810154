package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// ErrNotFound is matched (errors.Is) by every 404 answer; api wraps it in
// every error about a resource that does not exist.
var ErrNotFound = errors.New("not found")

// HTTPError is an answer of the cloud with an unexpected status. Message is
// the cloud's own explanation (from its fault body). A 404 matches
// ErrNotFound (errors.Is), and the gophercloud error stays reachable with
// errors.As for gophercloud.ResponseCodeIs.
type HTTPError struct {
	Method, URL string
	Status      int
	Message     string
	Err         error
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *HTTPError) Is(target error) bool { return target == ErrNotFound && e.Status == 404 }

// StatusCode returns the HTTP status of the cloud's answer behind err, or 0
// when err is not an HTTP answer.
func StatusCode(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual
	}
	var ure *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ure) {
		return ure.Actual
	}
	var rea gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &rea) {
		if c := StatusCode(rea.ErrReauth); c != 0 {
			return c
		}
		return StatusCode(rea.ErrOriginal)
	}
	var reap *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reap) {
		if c := StatusCode(reap.ErrReauth); c != 0 {
			return c
		}
		return StatusCode(reap.ErrOriginal)
	}
	return 0
}

// Normalize maps gophercloud and net/http errors onto HTTPError and
// NetError so callers can test them, and strips the noise around them.
func Normalize(err error) error {
	var he *HTTPError
	if errors.As(err, &he) {
		return err
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	var uep *gophercloud.ErrUnexpectedResponseCode
	switch {
	case errors.As(err, &ue):
	case errors.As(err, &uep):
		ue = *uep
	default:
		var rea gophercloud.ErrUnableToReauthenticate
		var reap *gophercloud.ErrUnableToReauthenticate
		switch {
		case errors.As(err, &rea):
		case errors.As(err, &reap):
			rea = *reap
		default:
			var ne *NetError
			if errors.As(err, &ne) {
				return ne // drop url.Error's repetition of the URL
			}
			return err
		}
		// The token expired and a new one could not be had.
		return fmt.Errorf("token expired and re-authentication failed: %w", Normalize(rea.ErrReauth))
	}
	return &HTTPError{
		Method:  ue.Method,
		URL:     ue.URL,
		Status:  ue.Actual,
		Message: cloudMessage(ue.Body),
		Err:     err,
	}
}

// cloudMessage extracts the message of an OpenStack fault body:
// {"itemNotFound": {"code": 404, "message": "..."}}, {"error": {"message":
// "..."}}, {"NeutronError": {"message": ...}} or {"message": "..."}. It falls
// back to the body's first 200 bytes of text.
func cloudMessage(body []byte) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) == nil {
		if m := stringMember(doc, "message"); m != "" {
			return m
		}
		for _, raw := range doc {
			var inner map[string]json.RawMessage
			if json.Unmarshal(raw, &inner) == nil {
				if m := stringMember(inner, "message"); m != "" {
					return m
				}
			}
		}
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func stringMember(m map[string]json.RawMessage, key string) string {
	raw, ok := m[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}
