package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/containers"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/objects"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Swift is a Client on one container of an OpenStack Swift account,
// through the object-store endpoint of a Keystone catalog. Requests go
// through the session's HTTP stack, which retries transient failures with
// backoff; an expired token is renewed once per request.
type Swift struct {
	sc        *gophercloud.ServiceClient
	httpc     *http.Client
	container string
	loc       string
}

// NewSwift returns the client of container on the account of sc; loc
// names the location in messages (swift://container/prefix).
func NewSwift(sc *gophercloud.ServiceClient, httpc *http.Client, container, loc string) *Swift {
	return &Swift{sc: sc, httpc: httpc, container: container, loc: loc}
}

// String implements Client.
func (s *Swift) String() string { return s.loc }

// Endpoint is the account URL the client uses.
func (s *Swift) Endpoint() string { return s.sc.Endpoint }

func (s *Swift) objectURL(name string) string {
	segs := strings.Split(name, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.TrimSuffix(s.sc.Endpoint, "/") + "/" + url.PathEscape(s.container) + "/" + strings.Join(segs, "/")
}

// do sends a request built by mk with the session's token, renewing the
// token once when Swift answers 401. mk is called again for the retry.
func (s *Swift) do(ctx context.Context, mk func() (*http.Request, error)) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		req = req.WithContext(ctx)
		tok := s.sc.ProviderClient.Token()
		req.Header.Set("X-Auth-Token", tok)
		resp, err := s.httpc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && s.sc.ProviderClient.ReauthFunc != nil {
			drain(resp)
			if err := s.sc.ProviderClient.Reauthenticate(ctx, tok); err != nil {
				return nil, fmt.Errorf("renew the Keystone token: %w", err)
			}
			continue
		}
		return resp, nil
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// statusError reads the answer's body (a line of text or HTML) into a
// StatusError and closes it.
func statusError(op, name string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	msg := strings.TrimSpace(string(b))
	if strings.HasPrefix(msg, "<") { // Swift's HTML error pages: keep the text
		msg = strings.TrimSpace(stripTags(msg))
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return &StatusError{Op: op, Name: name, Code: resp.StatusCode, Msg: msg}
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Put implements Client: one PUT (objects of up to 5 GiB; packs are far
// smaller), whose body the HTTP stack can rewind for a retry.
func (s *Swift) Put(ctx context.Context, name string, body io.ReaderAt, size int64, ifAbsent bool) error {
	resp, err := s.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPut, s.objectURL(name), io.NewSectionReader(body, 0, size))
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(body, 0, size)), nil }
		req.Header.Set("Content-Type", "application/octet-stream")
		if ifAbsent {
			req.Header.Set("If-None-Match", "*")
		}
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("PUT %s: %w", name, err)
	}
	if resp.StatusCode/100 != 2 {
		return statusError("PUT", name, resp)
	}
	drain(resp)
	return nil
}

// Get implements Client: a ranged GET.
func (s *Swift) Get(ctx context.Context, name string, off int64, dst []byte) error {
	resp, err := s.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, s.objectURL(name), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(dst))-1))
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("GET %s: %w", name, err)
	}
	return readRange("GET", name, resp, off, dst)
}

// readRange reads a ranged GET's answer into dst.
func readRange(op, name string, resp *http.Response, off int64, dst []byte) error {
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK: // the whole object (a server that ignores Range)
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			return fmt.Errorf("%s %s: %w", op, name, err)
		}
	default:
		return statusError(op, name, resp)
	}
	if _, err := io.ReadFull(resp.Body, dst); err != nil {
		return fmt.Errorf("%s %s (bytes %d-%d): %w", op, name, off, off+int64(len(dst))-1, err)
	}
	return nil
}

// Stat implements Client.
func (s *Swift) Stat(ctx context.Context, name string) (Info, error) {
	resp, err := s.do(ctx, func() (*http.Request, error) { return http.NewRequest(http.MethodHead, s.objectURL(name), nil) })
	if err != nil {
		return Info{}, fmt.Errorf("HEAD %s: %w", name, err)
	}
	if resp.StatusCode/100 != 2 {
		return Info{}, statusError("HEAD", name, resp)
	}
	drain(resp)
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return Info{}, fmt.Errorf("HEAD %s: no Content-Length", name)
	}
	mod, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	return Info{Name: name, Size: size, Modified: mod}, nil
}

// List implements Client: the container listing, page by page.
func (s *Swift) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	err := objects.List(s.sc, s.container, objects.ListOpts{Prefix: prefix}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		objs, err := objects.ExtractInfo(p)
		if err != nil {
			return false, err
		}
		for _, o := range objs {
			out = append(out, Info{Name: o.Name, Size: o.Bytes, Modified: o.LastModified})
		}
		return true, nil
	})
	if err != nil {
		return nil, containerError("LIST", s.container, err)
	}
	return out, nil
}

// containerError turns gophercloud's error of a request op on the
// container into a StatusError.
func containerError(op, container string, err error) error {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return &StatusError{Op: op, Name: container, Code: ue.Actual, Msg: strings.TrimSpace(stripTags(string(ue.Body)))}
	}
	return fmt.Errorf("%s %s: %w", op, container, err)
}

// Delete implements Client.
func (s *Swift) Delete(ctx context.Context, name string) error {
	resp, err := s.do(ctx, func() (*http.Request, error) { return http.NewRequest(http.MethodDelete, s.objectURL(name), nil) })
	if err != nil {
		return fmt.Errorf("DELETE %s: %w", name, err)
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return statusError("DELETE", name, resp)
	}
	drain(resp)
	return nil
}

// EnsureContainer checks that the container exists and creates it when
// it does not (create) — the user needs a role that may create containers.
// It reports whether it created it.
func (s *Swift) EnsureContainer(ctx context.Context, create bool) (bool, error) {
	_, err := containers.Get(ctx, s.sc, s.container, nil).Extract()
	if err == nil {
		return false, nil
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return false, containerError("HEAD", s.container, err)
	}
	if !create {
		return false, fmt.Errorf("container %q does not exist in %s (create it, or let a backup create it)", s.container, s.sc.Endpoint)
	}
	if _, err := containers.Create(ctx, s.sc, s.container, nil).Extract(); err != nil {
		return false, containerError("PUT", s.container, err)
	}
	return true, nil
}

var _ Client = (*Swift)(nil)
