package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/crypt"
)

func newKeygenCmd(a *app) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "create the master key file (32 random bytes, mode 0600); never overwrites",
		Long: `Creates a new random master key. Every archive and dedup store written with it
needs it to be read: losing it loses the backups. Make a paper copy right away
with "key show" and keep it somewhere safe. keygen refuses to overwrite an
existing key file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.keyFilePath(cmd, keyFile)
			if err != nil {
				return err
			}
			key, err := crypt.GenerateKeyFile(path)
			if err != nil {
				return withCode(exitFailure, err)
			}
			fmt.Fprintf(a.stdout, "created master key %s (checksum %s)\n", path, crypt.Checksum(key))
			fmt.Fprintf(a.stdout, "make a paper copy now: rb_module_rustack key show --key-file %s\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "key file to create (default: master_key_file from the configuration, /opt/rubackup/keys/master-key)")
	return cmd
}
