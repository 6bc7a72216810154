// Package units reads and writes byte sizes: ParseSize for the sizes users
// type ("64K", "1MiB", "2G", plain bytes) and FormatBytes for the sizes the
// commands print ("1.50 GiB").
//
// It owns only the grammar of a size; the ranges a size must fall in belong
// to the caller (the configuration's key ranges, a flag's limits). It knows
// nothing else of the module.
package units
