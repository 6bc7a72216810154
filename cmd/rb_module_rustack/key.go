package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/crypt"
)

func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "master key commands (show, import)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var keyFile string
	show := &cobra.Command{
		Use:   "show",
		Short: "print the master key as a hexdump with line checks and a checksum, for a paper copy",
		Long: `Prints the master key for a paper copy:

  # rb_module_rustack master key (/opt/rubackup/keys/master-key)
  0000: 3a 5f 12 09 ab cd ef 01  23 45 67 89 ab cd ef 01  | 1a2b
  0010: 00 11 22 33 44 55 66 77  88 99 aa bb cc dd ee ff  | 9c0d
  checksum: 0123456789abcdef

16 bytes per line after their offset, each line's check after "|", and the
checksum of the whole key. "key import" reads exactly this back (the
comment line may be left out) and finds a mistyped digit by its line.
Anyone holding the key can read the backups.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.keyFilePath(cmd, keyFile)
			if err != nil {
				return err
			}
			key, err := crypt.LoadKey(path)
			if err != nil {
				return withCode(exitFailure, err)
			}
			fmt.Fprintf(a.stdout, "# rb_module_rustack master key (%s)\n", path)
			fmt.Fprint(a.stdout, crypt.Paper(key))
			return nil
		},
	}
	show.Flags().StringVar(&keyFile, "key-file", "", "key file (default: master_key_file from the configuration, /opt/rubackup/keys/master-key)")
	var importFile string
	var force bool
	imp := &cobra.Command{
		Use:   "import [--key-file FILE] [--force] < PAPER-COPY",
		Short: "recreate the master key file from its paper copy (what key show prints) or its 64 hex digits, read from stdin",
		Long: `Reads the master key from standard input, as "key show" printed it (the
offsets, the line checks after "|" and the checksum line), or as its 64
hex digits alone (spaces and line breaks allowed; a "checksum:" line after
them is checked too), and writes it as the key file (mode 0600, missing
directories 0700).

Every line check and the checksum are verified: a mistyped copy is refused
with the line and column of the mistake, and no digit of the key is ever
printed. An existing key file is never replaced unless --force is given
(archives written with the old key need the old key); importing the key a
file already holds changes nothing.`,
		Example: `  rb_module_rustack key import --key-file /opt/rubackup/keys/master-key < paper-copy.txt
  rb_module_rustack key import --key-file /opt/rubackup/keys/master-key     # then type it, end with Ctrl-D`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.keyFilePath(cmd, importFile)
			if err != nil {
				return err
			}
			text, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			if err != nil {
				return withCode(exitFailure, fmt.Errorf("read the key from stdin: %w", err))
			}
			key, err := crypt.ParsePaper(text)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("key import: the key read from stdin is refused, nothing was written: %w", err))
			}
			if old, err := os.ReadFile(path); err == nil {
				if k, err := crypt.ParseKey(old); err == nil && bytes.Equal(k, key) {
					fmt.Fprintf(a.stdout, "%s already holds this key (checksum %s); nothing changed\n", path, crypt.Checksum(key))
					return nil
				}
			}
			if _, err := os.Lstat(path); err == nil && !force {
				return withCode(exitUsage, fmt.Errorf("key file %s already exists and holds another key; refusing to overwrite it (archives written with it need it): give --force to replace it, or import into another file", path))
			}
			if err := crypt.WriteKeyFile(path, key, force); err != nil {
				return withCode(exitFailure, err)
			}
			fmt.Fprintf(a.stdout, "imported master key into %s (checksum %s)\n", path, crypt.Checksum(key))
			return nil
		},
	}
	imp.Flags().StringVar(&importFile, "key-file", "", "key file to write (default: master_key_file from the configuration, /opt/rubackup/keys/master-key)")
	imp.Flags().BoolVar(&force, "force", false, "replace an existing key file holding another key")
	cmd.AddCommand(show, imp)
	return cmd
}

// keyFilePath is --key-file when given, else master_key_file from the
// configuration.
func (a *app) keyFilePath(cmd *cobra.Command, flag string) (string, error) {
	if cmd.Flags().Changed("key-file") {
		a.warn(nil, config.FileModeWarning(flag, "master key file", "whoever reads it can read every backup"))
		return flag, nil
	}
	cfg, err := a.engineConfig(cmd)
	if err != nil {
		return "", err
	}
	return cfg.MasterKeyFile, nil
}
