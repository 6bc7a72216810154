// Package logging appends the module's log to its log file (0600, folders
// 0700), writes short human messages to stderr, and redacts secrets.
package logging
