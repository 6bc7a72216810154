package config

import (
	"fmt"
	"os"
)

// Warnings are what a careful operator wants to hear about a configuration
// that works: an admin account with half its keys, and a configuration
// file or master key file that other users may read. Each names the file
// or key; none contains a secret.
func (c *Config) Warnings() []string {
	var w []string
	switch {
	case c.AdminName != "" && c.AdminPassword == "":
		w = append(w, fmt.Sprintf("%s: admin_name is set but admin_password is not: the admin account cannot log in, so guest scripts cannot run (set admin_password, or remove admin_name)", c.originText("admin_name")))
	case c.AdminName == "" && c.AdminPassword != "":
		w = append(w, fmt.Sprintf("%s: admin_password is set but admin_name is not: the password is not used (set admin_name, or remove admin_password)", c.originText("admin_password")))
	}
	if s := FileModeWarning(c.Path, "configuration file", "it holds the cloud passwords"); s != "" {
		w = append(w, s)
	}
	if s := FileModeWarning(c.MasterKeyFile, "master key file", "whoever reads it can read every backup"); s != "" {
		w = append(w, s)
	}
	return w
}

// FileModeWarning is a warning when path is a file that its group or other
// users may read ("" otherwise, also when it does not exist); what names
// the file and why says what a reader gets.
func FileModeWarning(path, what, why string) string {
	if path == "" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o044 == 0 {
		return ""
	}
	who := "other users"
	switch {
	case st.Mode().Perm()&0o044 == 0o044:
		who = "its group and other users"
	case st.Mode().Perm()&0o040 != 0:
		who = "its group"
	}
	return fmt.Sprintf("%s %s is readable by %s (mode %04o) and %s: chmod 600 %s", what, path, who, st.Mode().Perm(), why, path)
}
