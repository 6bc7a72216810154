package snapshot

import "rb_module_rustack/internal/api"

// Both the real client and anything that implements the whole api.Cloud
// satisfy Cloud.
var (
	_ Cloud = (*api.Client)(nil)
	_ Cloud = api.Cloud(nil)
)
