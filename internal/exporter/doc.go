// Package exporter is the Prometheus collector of `metrics serve`: on each
// scrape (cached for a while, so that frequent scrapes do not reread the
// pool) it lists the archives of the pool or store and exposes per VM the
// archive count, the age of the newest backup and the length of its chain,
// and for the repository its size on disk and the dedup ratio.
//
// It reads the repository only through the Source it is given; it knows
// nothing about the configuration or the command line.
package exporter
