package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/units"
)

func newArchivesCmd(a *app) *cobra.Command {
	var vm string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "archives",
		Short: "list the archives in the pool: id, VM, type, parent, size, date",
		Long: `Lists the archives of the archive pool (also those whose data lives in a dedup
store) from their cleartext headers, so no key is needed. Files that cannot be
read are listed with type "damaged".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, _, err := a.openRepoToRead(cmd, "")
			if err != nil {
				return err
			}
			defer repo.Close()
			all, err := repo.List(cmd.Context())
			if err != nil {
				return engineExit(err)
			}
			list := []archive.Info{}
			for _, in := range all {
				if vm == "" || in.VMID == vm || in.VMName == vm {
					list = append(list, in)
				}
			}
			if asJSON {
				return a.printJSON(list)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tVM\tTYPE\tPARENT\tSIZE\tLOGICAL\tDATE")
			for _, in := range list {
				parent := in.Parent
				if parent == "" {
					parent = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.VMName, in.Type, parent,
					units.FormatBytes(in.Size), units.FormatBytes(in.Logical), in.Created.Local().Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&vm, "vm", "", "only the archives of this VM (name or id)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addRepoFlags(cmd, false)
	return cmd
}
