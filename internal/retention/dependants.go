package retention

import "slices"

// Dependants returns, for each of ids, the IDs of the items not among ids
// that need it, directly or through other items (also through items among
// ids: removing both a base and the archive on it still breaks the archives
// on that one), sorted and each once. Only IDs that have dependants are in
// the map, so an empty map means ids can be removed without breaking any
// other item. A command that deletes archives by hand refuses when it is
// not empty.
func Dependants(items []Item, ids []string) map[string][]string {
	needed := map[string][]string{} // id -> ids of the items that name it in Needs
	for _, it := range items {
		for _, n := range it.Needs {
			needed[n] = append(needed[n], it.ID)
		}
	}
	removing := make(map[string]bool, len(ids))
	for _, id := range ids {
		removing[id] = true
	}
	out := map[string][]string{}
	for id := range removing {
		seen := map[string]bool{id: true}
		queue := []string{id}
		var deps []string
		for len(queue) > 0 {
			cur := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			for _, d := range needed[cur] {
				if seen[d] {
					continue
				}
				seen[d] = true
				queue = append(queue, d)
				if !removing[d] {
					deps = append(deps, d)
				}
			}
		}
		if len(deps) > 0 {
			slices.Sort(deps)
			out[id] = deps
		}
	}
	return out
}
