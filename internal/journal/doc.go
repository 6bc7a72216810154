// Package journal records every cloud resource a job is about to create, before
// it is created, in a file under the state directory, so that cleanup after a
// failure, a signal or a killed process knows exactly what to remove.
package journal
