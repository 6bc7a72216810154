// Package config reads rb_module_rustack.conf: the "key value" grammar, every
// key with its default and range, and the merge of rule parameters over the file.
// It knows nothing about the cloud, the archive format or the command line.
package config
