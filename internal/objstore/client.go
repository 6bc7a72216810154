package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Client is one provider's object operations on full object names (the
// Backend adds the location's prefix). Implementations are safe for
// concurrent use and retry transient failures (5xx, 429, timeouts,
// refused connections) themselves, with backoff.
type Client interface {
	// String names the location in messages, without secrets.
	String() string
	// Put writes size bytes of body as object name. With ifAbsent the
	// write is conditional (If-None-Match: *): when the server reports
	// that the object exists, the error wraps ErrExist.
	Put(ctx context.Context, name string, body io.ReaderAt, size int64, ifAbsent bool) error
	// Get reads n bytes at off of object name into dst[:n] (n > 0).
	Get(ctx context.Context, name string, off int64, dst []byte) error
	// Stat returns the object's size and time; fs.ErrNotExist when absent.
	Stat(ctx context.Context, name string) (Info, error)
	// List returns every object whose name starts with prefix, sorted.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// Info is an object as a listing or a stat shows it.
type Info struct {
	Name     string
	Size     int64
	Modified time.Time
}

// ErrExist is wrapped by a conditional Put whose object exists.
var ErrExist = fs.ErrExist

// StatusError is an HTTP answer a client did not expect, after its
// retries. Its message says what to check; Code is the HTTP status.
type StatusError struct {
	Op   string // "PUT", "GET", "HEAD", "LIST", "DELETE"
	Name string // the object or container
	Code int
	Msg  string // the server's own words, if any (never a secret)
}

func (e *StatusError) Error() string {
	hint := ""
	switch e.Code {
	case 401:
		hint = ": the credentials were refused (check the store's user, password or access key)"
	case 403:
		hint = ": access denied (the account lacks a role on this container or bucket)"
	case 404:
		hint = ": not found (an object deleted since it was listed, or a wrong container or bucket name)"
	case 429, 500, 502, 503, 504:
		hint = ": the object store is overloaded or failing; retried with backoff, then gave up"
	}
	s := fmt.Sprintf("%s %s: HTTP %d%s", e.Op, e.Name, e.Code, hint)
	if e.Msg != "" {
		s += " (" + e.Msg + ")"
	}
	return s
}

// Is makes a 404 match fs.ErrNotExist and a 412 ErrExist.
func (e *StatusError) Is(target error) bool {
	return (target == fs.ErrNotExist && e.Code == 404) || (target == ErrExist && e.Code == 412)
}

// transientCode reports whether an HTTP status is worth another attempt.
func transientCode(code int) bool {
	return code == 408 || code == 429 || code == 500 || code == 502 || code == 503 || code == 504
}

// Transient reports whether err is a failure a later attempt may not have:
// a transient HTTP status, a timeout, a connection error.
func Transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return transientCode(se.Code)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}
