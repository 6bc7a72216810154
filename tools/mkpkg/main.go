package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

func main() {
	cfgPath := flag.String("config", "packaging/nfpm.yaml", "nfpm layout (YAML; ${VAR} is taken from the environment)")
	outDir := flag.String("out", "dist", "folder for the packages")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkpkg [-config FILE] [-out DIR] FORMAT...   (FORMAT: deb, rpm)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, format := range flag.Args() {
		path, err := build(*cfgPath, *outDir, format)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkpkg:", err)
			os.Exit(1)
		}
		fmt.Println(path)
	}
}

// build writes one package of the given format into outDir and returns its
// path. A variable the layout names but the environment lacks is an error,
// not an empty string.
func build(cfgPath, outDir, format string) (string, error) {
	var missing []string
	cfg, err := nfpm.ParseFileWithEnvMapping(cfgPath, func(k string) string {
		v, ok := os.LookupEnv(k)
		if !ok && !strings.HasPrefix(k, "NFPM_") { // nfpm asks for its signing passphrases itself
			missing = append(missing, k)
		}
		return v
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", cfgPath, err)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s names unset environment variables: %s", cfgPath, strings.Join(missing, ", "))
	}
	info, err := cfg.Get(format)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", cfgPath, format, err)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("%s: %s: %w", cfgPath, format, err)
	}
	pkg, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(outDir, pkg.ConventionalFileName(info))
	info.Target = path
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	err = pkg.Package(info, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("%s package: %w", format, err)
	}
	return path, nil
}
