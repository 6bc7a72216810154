package objstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Client on one bucket of an S3 endpoint (AWS, Ceph RGW, MinIO,
// Swift's s3api), with minio-go, signature v4. minio-go retries transient
// failures (5xx, 429, timeouts, connection errors) with backoff itself.
type S3 struct {
	c      *minio.Client
	core   minio.Core
	bucket string
	loc    string
}

// S3Config is how to reach an S3 bucket.
type S3Config struct {
	Endpoint  string // http(s)://host[:port]
	Region    string // "" = us-east-1
	AccessKey string
	SecretKey string // secret: never in a message
	PathStyle bool   // bucket in the path (most non-AWS servers), not in the host name
	Bucket    string
	// Transport carries the requests (TLS setup, verbose log); nil = Go's
	// default.
	Transport http.RoundTripper
	// Retries bounds minio-go's attempts per request (default 6).
	Retries int
}

// NewS3 returns the client of the bucket of c; loc names the location in
// messages (s3://bucket/prefix).
func NewS3(c S3Config, loc string) (*S3, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("s3_endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", c.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("s3_endpoint %q: give the endpoint without a path (the bucket is in the store location)", c.Endpoint)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("s3_access_key and s3_secret_key must both be set for an s3:// store")
	}
	lookup := minio.BucketLookupDNS
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	if c.Retries <= 0 {
		c.Retries = 6
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Transport:    c.Transport,
		Region:       cmp.Or(c.Region, "us-east-1"), // no bucket-location lookup (whose 503 minio-go does not retry)
		BucketLookup: lookup,
		MaxRetries:   c.Retries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w", c.Endpoint, err)
	}
	return &S3{c: mc, core: minio.Core{Client: mc}, bucket: c.Bucket, loc: loc}, nil
}

// String implements Client.
func (s *S3) String() string { return s.loc }

// s3Error turns a minio-go error into a StatusError when the server
// answered.
func s3Error(op, name string, err error) error {
	er := minio.ToErrorResponse(err)
	if er.StatusCode != 0 {
		msg := er.Code
		if er.Message != "" {
			msg += ": " + er.Message
		}
		if strings.Contains(msg, "<") { // an HTML error page of a proxy in front of the store: keep the text
			msg = stripTags(msg)
		}
		return &StatusError{Op: op, Name: name, Code: er.StatusCode, Msg: msg}
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// Put implements Client: one PUT (no multipart upload, so no partial
// uploads to clean up), conditional with If-None-Match: *.
func (s *S3) Put(ctx context.Context, name string, body io.ReaderAt, size int64, ifAbsent bool) error {
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true, DisableContentSha256: true}
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	if _, err := s.c.PutObject(ctx, s.bucket, name, io.NewSectionReader(body, 0, size), size, opts); err != nil {
		return s3Error("PUT", name, err)
	}
	return nil
}

// Get implements Client.
func (s *S3) Get(ctx context.Context, name string, off int64, dst []byte) error {
	var o minio.GetObjectOptions
	if err := o.SetRange(off, off+int64(len(dst))-1); err != nil {
		return err
	}
	rc, _, _, err := s.core.GetObject(ctx, s.bucket, name, o)
	if err != nil {
		return s3Error("GET", name, err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, dst); err != nil {
		return fmt.Errorf("GET %s (bytes %d-%d): %w", name, off, off+int64(len(dst))-1, err)
	}
	return nil
}

// Stat implements Client, with a GET of the object's first byte rather
// than a HEAD: Swift's s3api (2.30) frames its error answers to a HEAD
// with a chunked body, which Go's HTTP client must discard with a log
// line on stderr ("Unsolicited response received on idle HTTP channel")
// and a lost connection — and a HEAD of a missing object is the common
// case (every put-if-absent where conditional PUTs are refused). The
// size is the total of the answer's Content-Range.
func (s *S3) Stat(ctx context.Context, name string) (Info, error) {
	var o minio.GetObjectOptions
	if err := o.SetRange(0, 0); err != nil {
		return Info{}, err
	}
	rc, oi, h, err := s.core.GetObject(ctx, s.bucket, name, o)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusRequestedRangeNotSatisfiable { // an empty object
			return s.head(ctx, name)
		}
		return Info{}, s3Error("GET", name, err)
	}
	io.Copy(io.Discard, io.LimitReader(rc, 1<<10))
	rc.Close()
	size := oi.Size
	if cr := h.Get("Content-Range"); cr != "" {
		_, total, ok := strings.Cut(cr, "/")
		n, err := strconv.ParseInt(total, 10, 64)
		if !ok || err != nil {
			return Info{}, fmt.Errorf("GET %s: Content-Range %q", name, cr)
		}
		size = n
	}
	return Info{Name: name, Size: size, Modified: oi.LastModified}, nil
}

// head is Stat by HEAD, for an empty object.
func (s *S3) head(ctx context.Context, name string) (Info, error) {
	oi, err := s.c.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s3Error("HEAD", name, err)
	}
	return Info{Name: name, Size: oi.Size, Modified: oi.LastModified}, nil
}

// List implements Client (ListObjectsV2, page by page).
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	for oi := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, s3Error("LIST", s.bucket, oi.Err)
		}
		out = append(out, Info{Name: oi.Key, Size: oi.Size, Modified: oi.LastModified})
	}
	return out, nil
}

// Delete implements Client.
func (s *S3) Delete(ctx context.Context, name string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil
		}
		return s3Error("DELETE", name, err)
	}
	return nil
}

// EnsureBucket checks that the bucket exists and creates it when it does
// not (create). It reports whether it created it.
func (s *S3) EnsureBucket(ctx context.Context, create bool) (bool, error) {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return false, s3Error("HEAD", s.bucket, err)
	}
	if ok {
		return false, nil
	}
	if !create {
		return false, fmt.Errorf("bucket %q does not exist (create it, or let a backup create it)", s.bucket)
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return false, s3Error("PUT", s.bucket, err)
	}
	return true, nil
}

var _ Client = (*S3)(nil)
