package objstore

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/api/httpx"
)

// Location is a parsed store location.
type Location struct {
	Scheme    string // "swift" or "s3"; "" for a directory
	Container string // the Swift container or S3 bucket
	Prefix    string // "" or a path inside it, without slashes at the ends
	Dir       string // the directory, for a directory store
}

// String is the location as the user writes it.
func (l Location) String() string {
	if l.Scheme == "" {
		return l.Dir
	}
	s := l.Scheme + "://" + l.Container
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	return s
}

// IsObjectStore reports whether loc names an object store (swift:// or
// s3://) rather than a directory.
func IsObjectStore(loc string) bool { return hasScheme(loc, "swift") || hasScheme(loc, "s3") }

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixName = regexp.MustCompile(`^[A-Za-z0-9._~=+@,-]+(/[A-Za-z0-9._~=+@,-]+)*$`)
)

// ParseLocation parses a store location: a directory, or
// swift://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX]. Its errors say what
// is wrong with the text.
func ParseLocation(loc string) (Location, error) {
	if !IsObjectStore(loc) {
		if strings.Contains(loc, "://") {
			return Location{}, fmt.Errorf("store %q: unknown scheme (want a directory, swift://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX])", loc)
		}
		return Location{Dir: loc}, nil
	}
	i := strings.Index(loc, "://")
	l := Location{Scheme: strings.ToLower(loc[:i])}
	rest := loc[i+3:]
	l.Container, l.Prefix, _ = strings.Cut(rest, "/")
	l.Prefix = strings.Trim(l.Prefix, "/")
	switch {
	case l.Container == "":
		return Location{}, fmt.Errorf("store %q: no %s", loc, map[string]string{"swift": "container", "s3": "bucket"}[l.Scheme])
	case l.Scheme == "s3" && !bucketName.MatchString(l.Container):
		return Location{}, fmt.Errorf("store %q: bucket %q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)", loc, l.Container)
	case l.Scheme == "swift" && len(l.Container) > 256:
		return Location{}, fmt.Errorf("store %q: container name longer than 256 bytes", loc)
	case l.Prefix != "" && !prefixName.MatchString(l.Prefix):
		return Location{}, fmt.Errorf("store %q: prefix %q: use letters, digits and . _ ~ = + @ , - between slashes", loc, l.Prefix)
	}
	for _, e := range strings.Split(l.Prefix, "/") {
		if strings.HasPrefix(e, ".") {
			return Location{}, fmt.Errorf("store %q: a prefix element may not start with a dot", loc)
		}
	}
	return l, nil
}

// Settings are what opening an object store needs besides its location.
type Settings struct {
	// Swift is the Keystone account whose catalog names the object-store
	// endpoint (the module's own, or the store_* keys).
	Swift api.Options
	// S3 is the endpoint and keys of an s3:// store (Bucket is set from
	// the location).
	S3 S3Config
	// S3CAFile verifies the S3 endpoint's certificate against this PEM
	// bundle instead of the system's.
	S3CAFile string
	// Timeout bounds one attempt of a request (default 120 s).
	Timeout time.Duration
	// Backend tunes the backend (Spool is required).
	Backend Options
}

// WithSpool returns s with its spool directory defaulted to POOL/.spool.
func (s Settings) WithSpool(pool string) Settings {
	if s.Backend.Spool == "" {
		s.Backend.Spool = filepath.Join(pool, ".spool")
	}
	return s
}

// Open connects to the object store at l (authenticating with Swift) and
// returns its backend; with create, a missing container or bucket is
// created. It makes no request to the store's objects.
func Open(ctx context.Context, l Location, s Settings, create bool) (*Backend, error) {
	if s.Timeout <= 0 {
		s.Timeout = 120 * time.Second
	}
	var c Client
	switch l.Scheme {
	case "swift":
		o := s.Swift
		o.Timeout = s.Timeout
		sess, err := api.NewObjectStorage(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", l, err)
		}
		sw := NewSwift(sess.Service, sess.HTTP, l.Container, l.String())
		if _, err := sw.EnsureContainer(ctx, create); err != nil {
			return nil, fmt.Errorf("store %s: %w", l, err)
		}
		c = sw
	case "s3":
		cfg := s.S3
		cfg.Bucket = l.Container
		hc, _, err := httpx.NewClient(httpx.Config{URL: cfg.Endpoint, Timeout: s.Timeout, EnableSSL: true, CAInfo: s.S3CAFile,
			Secrets: []string{cfg.SecretKey}, Log: s.Swift.Log, Retry: httpx.RetryPolicy{Disabled: true}})
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", l, err)
		}
		cfg.Transport = hc.Transport
		s3c, err := NewS3(cfg, l.String())
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", l, err)
		}
		if _, err := s3c.EnsureBucket(ctx, create); err != nil {
			return nil, fmt.Errorf("store %s: %w", l, err)
		}
		c = s3c
	default:
		return nil, fmt.Errorf("store %s: not an object store", l)
	}
	return New(c, l.Prefix, s.Backend)
}

// hasScheme reports whether loc starts with scheme://.
func hasScheme(loc, scheme string) bool { return strings.HasPrefix(strings.ToLower(loc), scheme+"://") }
