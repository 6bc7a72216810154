package api

// The catalog calls: what a restore checks before it recreates a VM (that
// the recorded volume types, availability zones, networks, key pairs and
// security groups still exist). They satisfy the optional lister interfaces
// of internal/restore. Added by the restore work.

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	bsaz "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	novaaz "github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// ListVolumeTypes lists the names of the volume types the project can use.
func (c *Client) ListVolumeTypes(ctx context.Context) ([]string, error) {
	pages, err := volumetypes.List(c.user.volume, volumetypes.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list volume types", err)
	}
	list, err := volumetypes.ExtractVolumeTypes(pages)
	if err != nil {
		return nil, wrap("list volume types: read the answer", err)
	}
	out := make([]string, 0, len(list))
	for _, t := range list {
		out = append(out, t.Name)
	}
	return out, nil
}

// ListVolumeAvailabilityZones lists Cinder's available availability zones.
func (c *Client) ListVolumeAvailabilityZones(ctx context.Context) ([]string, error) {
	pages, err := bsaz.List(c.user.volume).AllPages(ctx)
	if err != nil {
		return nil, wrap("list volume availability zones", err)
	}
	list, err := bsaz.ExtractAvailabilityZones(pages)
	if err != nil {
		return nil, wrap("list volume availability zones: read the answer", err)
	}
	out := make([]string, 0, len(list))
	for _, z := range list {
		if z.ZoneState.Available {
			out = append(out, z.ZoneName)
		}
	}
	return out, nil
}

// ListServerAvailabilityZones lists Nova's available availability zones.
func (c *Client) ListServerAvailabilityZones(ctx context.Context) ([]string, error) {
	pages, err := novaaz.List(c.user.compute).AllPages(ctx)
	if err != nil {
		return nil, wrap("list availability zones", err)
	}
	list, err := novaaz.ExtractAvailabilityZones(pages)
	if err != nil {
		return nil, wrap("list availability zones: read the answer", err)
	}
	out := make([]string, 0, len(list))
	for _, z := range list {
		if z.ZoneState.Available {
			out = append(out, z.ZoneName)
		}
	}
	return out, nil
}

// ListKeyPairs lists the names of the user's key pairs.
func (c *Client) ListKeyPairs(ctx context.Context) ([]string, error) {
	pages, err := keypairs.List(c.user.compute, keypairs.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list key pairs", err)
	}
	list, err := keypairs.ExtractKeyPairs(pages)
	if err != nil {
		return nil, wrap("list key pairs: read the answer", err)
	}
	out := make([]string, 0, len(list))
	for _, k := range list {
		out = append(out, k.Name)
	}
	return out, nil
}

// network returns a Neutron client of the user session.
func (c *Client) network() (*gophercloud.ServiceClient, error) {
	sc, err := openstack.NewNetworkV2(c.user.pc, gophercloud.EndpointOpts{Region: c.opts.Region})
	if err != nil {
		return nil, fmt.Errorf("find the network (Neutron) endpoint in the catalog%s: %w", regionNote(c.opts.Region), err)
	}
	return sc, nil
}

// ListNetworks lists the networks the project can use (its own and shared
// ones), with ID and Name.
func (c *Client) ListNetworks(ctx context.Context) ([]Network, error) {
	sc, err := c.network()
	if err != nil {
		return nil, err
	}
	pages, err := networks.List(sc, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list networks", err)
	}
	list, err := networks.ExtractNetworks(pages)
	if err != nil {
		return nil, wrap("list networks: read the answer", err)
	}
	out := make([]Network, 0, len(list))
	for _, n := range list {
		out = append(out, Network{ID: n.ID, Name: n.Name})
	}
	return out, nil
}

// ListSecurityGroups lists the names of the project's security groups.
func (c *Client) ListSecurityGroups(ctx context.Context) ([]string, error) {
	sc, err := c.network()
	if err != nil {
		return nil, err
	}
	pages, err := groups.List(sc, groups.ListOpts{TenantID: c.opts.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list security groups", err)
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, wrap("list security groups: read the answer", err)
	}
	out := make([]string, 0, len(list))
	for _, g := range list {
		out = append(out, g.Name)
	}
	return out, nil
}
