package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/crypt"
)

func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "master key commands (show)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var keyFile string
	show := &cobra.Command{
		Use:   "show",
		Short: "print the master key as a hexdump with a checksum, for a paper copy",
		Long: `Prints the master key for a paper copy: 32 bytes in hex and a checksum line.
To recreate the key file from paper, write the 64 hex digits (spaces and line
breaks allowed, without the offsets and the checksum) into a file: it is
accepted as a key file as is. Anyone holding the key can read the backups.`,
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
			fmt.Fprintf(a.stdout, "rb_module_rustack master key (%s)\n", path)
			fmt.Fprint(a.stdout, crypt.Paper(key))
			return nil
		},
	}
	show.Flags().StringVar(&keyFile, "key-file", "", "key file (default: master_key_file from the configuration, /opt/rubackup/keys/master-key)")
	cmd.AddCommand(show)
	return cmd
}

// keyFilePath is --key-file when given, else master_key_file from the
// configuration.
func (a *app) keyFilePath(cmd *cobra.Command, flag string) (string, error) {
	if cmd.Flags().Changed("key-file") {
		return flag, nil
	}
	cfg, err := a.engineConfig(cmd)
	if err != nil {
		return "", err
	}
	return cfg.MasterKeyFile, nil
}
