package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/codec"
	"rb_module_rustack/internal/crypt"
)

// algorithmList is what the algorithms command prints.
type algorithmList struct {
	Ciphers []cipherInfo `json:"ciphers"`
	Codecs  []codecInfo  `json:"codecs"`
}

type cipherInfo struct {
	Name    string   `json:"name"`
	KeyBits int      `json:"key_bits"`
	Mode    string   `json:"mode"`
	Aliases []string `json:"aliases,omitempty"`
	Default bool     `json:"default"`
}

type codecInfo struct {
	Name         string   `json:"name"`
	Levels       []string `json:"levels"`
	DefaultLevel string   `json:"default_level"`
	Default      bool     `json:"default"`
}

// algorithms lists the registered ciphers and codecs.
func algorithms() algorithmList {
	l := algorithmList{Ciphers: []cipherInfo{}, Codecs: []codecInfo{}}
	aliases := map[string][]string{}
	for a, n := range crypt.Aliases() {
		aliases[n] = append(aliases[n], a)
	}
	for _, c := range crypt.Ciphers() {
		al := aliases[c.Name()]
		slices.Sort(al)
		l.Ciphers = append(l.Ciphers, cipherInfo{Name: c.Name(), KeyBits: 8 * c.KeySize(), Mode: c.Mode(), Aliases: al, Default: c.Default()})
	}
	for _, c := range codec.List() {
		l.Codecs = append(l.Codecs, codecInfo{Name: c.Name(), Levels: append([]string{}, c.Levels()...), DefaultLevel: c.DefaultLevel(), Default: c.Default()})
	}
	return l
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newAlgorithmsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "algorithms",
		Short: "list the ciphers and compression algorithms this version supports",
		Long: `Lists every cipher (for --cipher and "cipher" in the configuration) with its key
size, AEAD mode and aliases (docs/encryption.md explains how to choose), and every compression algorithm (--compression, "compression") with its
levels (--compression-level, "compression_level"); the defaults are marked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l := algorithms()
			if asJSON {
				return a.printJSON(l)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "CIPHER\tKEY BITS\tMODE\tALIASES\tDEFAULT")
			for _, c := range l.Ciphers {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", c.Name, c.KeyBits, c.Mode, orDash(strings.Join(c.Aliases, ", ")), yesNo(c.Default))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
			tw = tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPRESSION\tLEVELS\tDEFAULT")
			for _, c := range l.Codecs {
				levels := make([]string, len(c.Levels))
				for i, v := range c.Levels {
					levels[i] = v
					if v == c.DefaultLevel {
						levels[i] += " (default)"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, orDash(strings.Join(levels, ", ")), yesNo(c.Default))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// choices is the help text of a flag that takes a registered name:
// "a (default) | b | c", from the registry's list (the default first).
func choices(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0] + " (default) | " + strings.Join(names[1:], " | ")
}

// checkCipher refuses a cipher the registry does not know, listing those
// it does.
func checkCipher(flag, name string) error {
	if crypt.ValidCipher(name) {
		return nil
	}
	return withCode(exitUsage, fmt.Errorf("--%s %q: want one of %s (rb_module_rustack algorithms lists them)", flag, name, strings.Join(crypt.Names(), ", ")))
}
