package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// rootLong is the root command's description: the first lines of --help
// and the DESCRIPTION of rb_module_rustack(8).
const rootLong = `Agentless backup of RUSTACK virtual machines.

rb_module_rustack backs up the virtual machines of a RUSTACK (OpenStack-compatible)
project without an agent in the guests: it snapshots their volumes, reads them in a
proxy VM of the same cloud and stores them deduplicated, compressed and encrypted in
an archive pool or a shared dedup store. It restores a VM into the cloud, one disk
as a volume, or raw disk images into a local folder.

Files (the defaults; the configuration can name others):

    /opt/rubackup/etc/rb_module_rustack.conf   configuration (-c FILE for another)
    /opt/rubackup/keys/master-key              master key (keygen; paper copy: key show)
    /opt/rubackup/log/RuBackup.log             log (log_file)
    /opt/rubackup/var/rb_module_rustack        journals and locks (state_dir)
    /opt/rubackup/backup/rustack               archive pool (pool)

Exit status: 0 success, 1 the operation failed, 2 bad command line or
configuration, 3 a -t check failed, 4 damaged or missing data or a wrong key,
5 interrupted (after cleanup).`

// addBuildCommands adds the version command, --version's text, the visible
// completion command and the hidden gen-docs command to root.
func addBuildCommands(root *cobra.Command, a *app) {
	root.Long = rootLong
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(newVersionCmd(a), newGenDocsCmd(a))
	// -v, --version as a flag of our own rather than cobra's Version field:
	// cobra renders a custom version template with text/template, whose
	// reflection stops the linker from dropping unused methods (+4 MB).
	var showVersion bool
	root.Flags().BoolVarP(&showVersion, "version", "v", false, "print the version, commit, build date and Go version")
	run := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if showVersion {
			_, err := fmt.Fprint(a.stdout, buildInfo())
			return err
		}
		return run(cmd, args)
	}
}

// newGenDocsCmd writes the man pages and shell completion scripts from the
// command tree; scripts/package.sh runs it so that neither drifts from --help.
func newGenDocsCmd(a *app) *cobra.Command {
	var manDir, complDir string
	cmd := &cobra.Command{
		Use:    "gen-docs --man DIR --completion DIR",
		Short:  "write the man pages and the bash, zsh and fish completion scripts",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if manDir == "" && complDir == "" {
				return withCode(exitUsage, fmt.Errorf("give --man DIR, --completion DIR or both"))
			}
			root := cmd.Root()
			if manDir != "" {
				if err := genMan(root, manDir); err != nil {
					return err
				}
			}
			if complDir != "" {
				if err := genCompletion(root, complDir); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "folder for the section 8 man pages (one per command)")
	cmd.Flags().StringVar(&complDir, "completion", "", "folder for rb_module_rustack.bash, _rb_module_rustack (zsh) and rb_module_rustack.fish")
	return cmd
}

// genMan writes rb_module_rustack.8 and rb_module_rustack-COMMAND.8 for
// every visible command. The date is the build date when the binary has one
// (SOURCE_DATE_EPOCH, else now, otherwise), so rebuilt pages are identical.
func genMan(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	h := &doc.GenManHeader{
		Title:   "RB_MODULE_RUSTACK",
		Section: "8",
		Source:  "rb_module_rustack " + version,
		Manual:  "RuBackup modules",
	}
	if t, err := time.Parse(time.RFC3339, buildDate); err == nil {
		h.Date = &t
	}
	root.DisableAutoGenTag = true
	if err := doc.GenManTreeFromOpts(root, doc.GenManTreeOptions{Header: h, Path: dir, CommandSeparator: "-"}); err != nil {
		return fmt.Errorf("man pages in %s: %w", dir, err)
	}
	return nil
}

// genCompletion writes the completion scripts of bash, zsh and fish.
func genCompletion(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	for _, s := range []struct {
		name string
		gen  func(f *os.File) error
	}{
		{"rb_module_rustack.bash", func(f *os.File) error { return root.GenBashCompletionV2(f, true) }},
		{"_rb_module_rustack", func(f *os.File) error { return root.GenZshCompletion(f) }},
		{"rb_module_rustack.fish", func(f *os.File) error { return root.GenFishCompletion(f, true) }},
	} {
		path := filepath.Join(dir, s.name)
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("completion: %w", err)
		}
		err = s.gen(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("completion %s: %w", path, err)
		}
	}
	return nil
}
