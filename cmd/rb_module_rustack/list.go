package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the project's VMs: name, id, status (same as -l)",
		Long: `Lists every server of the configured project (all pages), sorted by name,
as a NAME, ID, STATUS table, or as a JSON array with --json. It needs only
url, username, password, domain and project_id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), a, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print a JSON array of {"name","id","status"}`)
	return cmd
}

// vmRow is one line of the listing.
type vmRow struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Status string `json:"status"`
}

func runList(ctx context.Context, a *app, asJSON bool) error {
	cfg, err := a.loadConfig("list")
	if err != nil {
		return err
	}
	log := a.openLogOrStderr(cfg)
	defer log.Close()
	a.warnConfig(cfg, log)
	c, err := connect(ctx, cfg, log, false)
	if err != nil {
		return withCode(exitFailure, fmt.Errorf("list: %w", err)) // logged as ERROR by logFailure
	}
	servers, err := c.ListServers(ctx)
	if err != nil {
		return withCode(exitFailure, fmt.Errorf("list: %w", err))
	}
	rows := make([]vmRow, 0, len(servers))
	for _, s := range servers {
		rows = append(rows, vmRow{Name: s.Name, ID: s.ID, Status: s.Status})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].ID < rows[j].ID
	})
	log.Infof("list: %d servers in project %s", len(rows), cfg.ProjectID)
	if asJSON {
		if err := a.printJSON(rows); err != nil {
			return withCode(exitFailure, err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSTATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(r.Name), cell(r.ID), cell(r.Status))
	}
	if err := tw.Flush(); err != nil {
		return withCode(exitFailure, err)
	}
	return nil
}

// cell prints a table cell on one line: names with control characters
// (a server name may hold anything) are quoted.
func cell(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return "-"
	}
	return s
}
