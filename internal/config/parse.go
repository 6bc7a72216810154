package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"rb_module_rustack/internal/codec"
)

// maxFileSize bounds how much of a configuration file is read.
const maxFileSize = 1 << 20

// isSecret says whether a key's value must never be echoed in an error or
// a listing: every key of kind kindSecret (passwords, secret keys).
func (k *keySpec) isSecret() bool { return k.kind == kindSecret }

// Load reads the file at path, applies defaults, merges params (rule
// parameters, which win over the file) and validates ranges. Every error
// names file:line and key. It never includes a secret in an error.
func Load(path string, params map[string]string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("configuration file %s does not exist (give another with -c FILE; a sample is etc/rb_module_rustack.conf)", path)
		}
		return nil, fmt.Errorf("cannot read configuration file %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	return Parse(path, f, params)
}

// unwrapPath drops the *PathError wrapper so the path is not printed twice.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads a configuration from r; name is used in errors (normally the
// file's path). See Load.
func Parse(name string, r io.Reader, params map[string]string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read configuration file %s: %w", name, unwrapPath(err))
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("configuration file %s is larger than %d bytes; is it the right file?", name, maxFileSize)
	}
	specs := keys()
	byName := make(map[string]*keySpec, len(specs))
	for i := range specs {
		byName[specs[i].name] = &specs[i]
	}
	c := &Config{Path: name, origins: map[string]string{}, shown: map[string]string{}, Params: map[string]string{}}
	for i := range specs {
		if err := c.apply(&specs[i], specs[i].def); err != nil {
			return nil, fmt.Errorf("internal error: default of %q: %w", specs[i].name, err)
		}
	}

	// The file.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		where := name + ":" + strconv.Itoa(lineNo)
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		key, val := splitLine(trimmed)
		spec := byName[key]
		if spec == nil {
			return nil, fmt.Errorf("%s: unknown key %q%s", where, printable(key), suggest(key, byName))
		}
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s: key %q is set twice, on lines %d and %d (keep one)", where, key, first, lineNo)
		}
		seen[key] = lineNo
		if val == "" {
			if spec.kind != kindFlag {
				return nil, fmt.Errorf("%s: key %q has no value (write %q VALUE, or NONE to leave it unset)", where, key, key)
			}
			val = "yes"
		}
		if !utf8.ValidString(val) && !spec.isSecret() {
			return nil, fmt.Errorf("%s: key %q: the value is not valid UTF-8", where, key)
		}
		if err := c.apply(spec, val); err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", where, key, err)
		}
		c.origins[key] = where
	}

	// Rule parameters, in a stable order so the first error is reproducible.
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.TrimSpace(params[k])
		c.Params[k] = v
		spec := byName[k]
		if spec == nil {
			continue // a rule parameter for someone else: kept in Params
		}
		where := fmt.Sprintf("rule parameter %q", k)
		if v == "" {
			v = "NONE" // an empty rule parameter leaves the key unset
		}
		if err := c.apply(spec, v); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		c.origins[k] = where
	}

	if err := c.checkChunks(); err != nil {
		return nil, err
	}
	if err := c.checkCompressionLevel(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkCompressionLevel validates that compression_level is a level of the
// chosen codec (each key alone only knows every codec's levels).
func (c *Config) checkCompressionLevel() error {
	a, ok := codec.Lookup(c.Compression)
	if !ok || len(a.Levels()) == 0 || slices.Contains(a.Levels(), c.CompressionLevel) {
		return nil
	}
	return fmt.Errorf("%s: key %q: %q is not a level of %s: want %s",
		c.originText("compression_level"), "compression_level", c.CompressionLevel, a.Name(), strings.Join(a.Levels(), ", "))
}

// splitLine cuts "key<spaces/tabs>value"; value keeps inner spaces and '#'.
func splitLine(s string) (key, val string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// apply validates raw and stores it; NONE restores the key's default.
func (c *Config) apply(spec *keySpec, raw string) error {
	if raw == "NONE" {
		raw = spec.def
	}
	if raw == "" && (spec.kind == kindString || spec.kind == kindSecret) {
		spec.set(c, value{})
		c.shown[spec.name] = ""
		return nil
	}
	v, err := spec.parseValue(raw)
	if err != nil {
		if spec.isSecret() {
			return errors.New("invalid value") // never reached: secrets accept any text
		}
		return err
	}
	spec.set(c, v)
	if spec.isSecret() {
		raw = "***"
	}
	c.shown[spec.name] = raw
	return nil
}

// checkChunks validates chunk_min < chunk_avg < chunk_max, naming the key
// whose value was given last (the one most likely to be the mistake).
func (c *Config) checkChunks() error {
	blame := func(a, b string) string {
		if c.origins[b] != "" {
			return b
		}
		return a
	}
	check := func(lo, hi string, vlo, vhi int) error {
		if vlo < vhi {
			return nil
		}
		k := blame(lo, hi)
		return fmt.Errorf("%s: key %q: %s must be smaller than %s (%s)",
			c.originText(k), k, lo+" "+FormatSize(vlo), hi, FormatSize(vhi))
	}
	if err := check("chunk_min", "chunk_avg", c.ChunkMin, c.ChunkAvg); err != nil {
		return err
	}
	return check("chunk_avg", "chunk_max", c.ChunkAvg, c.ChunkMax)
}

func (c *Config) originText(key string) string {
	if o := c.origins[key]; o != "" {
		return o
	}
	return c.Path + " (default)"
}

// Origin says where key's value came from: "FILE:LINE", `rule parameter
// "key"`, or "default".
func (c *Config) Origin(key string) string {
	if o := c.origins[key]; o != "" {
		return o
	}
	return "default"
}

// printable keeps an unknown key readable and short in an error message.
func printable(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return string(r[:max]) + "..."
	}
	return s
}

// suggest proposes a known key for a misspelt one.
func suggest(key string, known map[string]*keySpec) string {
	lower := strings.ToLower(key)
	alt := strings.ReplaceAll(lower, "-", "_")
	alt2 := strings.ReplaceAll(lower, "_", "-")
	for _, k := range []string{lower, alt, alt2} {
		if k != key && known[k] != nil {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}

// cloudKeys are what every operation that talks to the cloud needs.
func cloudKeys() []string {
	return []string{"url", "username", "password", "domain", "project_id"}
}

// Require checks that the keys an operation needs are set; op is one of
// "list", "test", "backup", "restore", "cleanup", "scripts", or one of the
// offline operations "image", "verify", "archives", "keygen", "key", "demo".
// The error lists every missing key.
func (c *Config) Require(op string) error {
	var need []string
	switch op {
	case "list", "test":
		need = cloudKeys()
	case "backup", "restore", "cleanup":
		need = append(cloudKeys(), "rubackup-vm-id")
	case "scripts":
		need = append(cloudKeys(), "admin_name", "admin_password")
	case "image", "verify", "archives", "keygen", "key", "demo":
		return nil
	default:
		return fmt.Errorf("internal error: config.Require: unknown operation %q", op)
	}
	var missing []string
	for _, k := range need {
		if c.get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		if op == "backup" {
			return c.CheckScripts()
		}
		return nil
	}
	word := "key"
	if len(missing) > 1 {
		word = "keys"
	}
	return fmt.Errorf("%s: %s needs the %s %s; set them in the file or with --param key=value",
		c.Path, op, word, strings.Join(missing, ", "))
}

// get returns the string value of a string-valued key ("" when unset).
func (c *Config) get(key string) string {
	switch key {
	case "url":
		return c.URL
	case "username":
		return c.Username
	case "password":
		return c.Password
	case "domain":
		return c.Domain
	case "project_id":
		return c.ProjectID
	case "rubackup-vm-id":
		return c.ProxyVMID
	case "admin_name":
		return c.AdminName
	case "admin_password":
		return c.AdminPassword
	}
	return ""
}

// Secrets returns the non-empty secret values, for log redaction.
func (c *Config) Secrets() []string {
	var s []string
	for _, v := range []string{c.Password, c.AdminPassword, c.StorePassword, c.S3SecretKey, c.InfluxPassword} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// Entry is one key of the effective configuration, for display.
type Entry struct {
	Key    string
	Value  string // as written; "***" for a set secret; "NONE" when unset
	Origin string // "FILE:LINE", `rule parameter "key"`, or "default"
	Doc    string // what the key means, in a few words
}

// Entries lists every known key with its effective value (secrets masked)
// and where it came from, in the order of the sample file.
func (c *Config) Entries() []Entry {
	specs := keys()
	out := make([]Entry, 0, len(specs))
	for _, k := range specs {
		v, ok := c.shown[k.name]
		if !ok || v == "" {
			v = "NONE"
		}
		out = append(out, Entry{Key: k.name, Value: v, Origin: c.Origin(k.name), Doc: k.doc})
	}
	return out
}

// CheckScripts refuses a configured guest script (script_before_snapshot,
// script_after_snapshot) without the admin account that runs it: the
// script reaches the guest through the VM's hypervisor and libvirt domain,
// which only an administrator can read. The error names where the script
// was set.
func (c *Config) CheckScripts() error {
	var key string
	switch {
	case c.ScriptBeforeSnapshot != "":
		key = "script_before_snapshot"
	case c.ScriptAfterSnapshot != "":
		key = "script_after_snapshot"
	default:
		return nil
	}
	var missing []string
	for _, k := range []string{"admin_name", "admin_password"} {
		if c.get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	verb := "is"
	if len(missing) > 1 {
		verb = "are"
	}
	return fmt.Errorf("%s: key %q is set, but %s %s not: a guest script runs through the admin account (only an administrator sees the VM's hypervisor and libvirt domain); set admin_name and admin_password, or remove the script",
		c.originText(key), key, strings.Join(missing, " and "), verb)
}
