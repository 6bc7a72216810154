package api

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/attachinterfaces"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"rb_module_rustack/internal/api/httpx"
)

// ListServers lists every server of the project (all pages). Networks come
// from "addresses" only (os-interface would cost one call per server).
func (c *Client) ListServers(ctx context.Context) ([]Server, error) {
	pages, err := servers.List(c.user.compute, servers.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list servers", err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, wrap("list servers: read the answer", err)
	}
	out := make([]Server, 0, len(list))
	for i := range list {
		s := c.toServer(ctx, &list[i])
		out = append(out, s)
	}
	return out, nil
}

// GetServer reads one server through the user session; Networks also use
// os-interface when Nova and Neutron answer it.
func (c *Client) GetServer(ctx context.Context, id string) (*Server, error) {
	return c.getServer(ctx, c.user, id)
}

// GetServerAdmin reads one server through the admin session, so Host and
// InstanceName are filled.
func (c *Client) GetServerAdmin(ctx context.Context, id string) (*Server, error) {
	if c.admin == nil {
		return nil, fmt.Errorf("get server %s with hypervisor attributes: %w", id, ErrNoAdmin)
	}
	s, err := c.getServer(ctx, c.admin, id)
	if err != nil {
		return nil, err
	}
	if s.Host == "" || s.InstanceName == "" {
		c.log.Warnf("server %s: the admin account %q does not see OS-EXT-SRV-ATTR:host/instance_name (it needs the admin role on the project)",
			id, c.opts.AdminName)
	}
	return s, nil
}

func (c *Client) getServer(ctx context.Context, s *session, id string) (*Server, error) {
	if id == "" {
		return nil, fmt.Errorf("get server: empty id")
	}
	gs, err := servers.Get(ctx, s.compute, id).Extract()
	if err != nil {
		return nil, wrap("get server "+id, err)
	}
	srv := c.toServer(ctx, gs)
	if nets, err := c.interfaces(ctx, s, gs); err != nil {
		c.log.Debugf("server %s: os-interface unavailable (%v); networks from addresses", id, err)
	} else if nets != nil {
		srv.Networks = nets
	}
	return &srv, nil
}

// interfaces reads os-interface (Nova asks Neutron). It returns nil, nil
// when the server has no ports.
func (c *Client) interfaces(ctx context.Context, s *session, gs *servers.Server) ([]Network, error) {
	pages, err := attachinterfaces.List(s.compute, gs.ID).AllPages(ctx)
	if err != nil {
		return nil, httpx.Normalize(err)
	}
	ifs, err := attachinterfaces.ExtractInterfaces(pages)
	if err != nil || len(ifs) == 0 {
		return nil, err
	}
	byIP := map[string]string{} // fixed ip -> network name from addresses
	for _, n := range addressNetworks(gs.Addresses) {
		byIP[n.FixedIP] = n.Name
	}
	out := make([]Network, 0, len(ifs))
	for _, in := range ifs {
		n := Network{ID: in.NetID}
		if len(in.FixedIPs) > 0 {
			n.FixedIP = in.FixedIPs[0].IPAddress
			n.Name = byIP[n.FixedIP]
		}
		out = append(out, n)
	}
	return out, nil
}

// addressNetworks reads Nova's "addresses": {"net": [{"addr": ...,
// "OS-EXT-IPS:type": "fixed"}, ...]}, one Network per network name with its
// first fixed address, sorted by name.
func addressNetworks(addrs map[string]any) []Network {
	names := make([]string, 0, len(addrs))
	for k := range addrs {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []Network
	for _, name := range names {
		list, _ := addrs[name].([]any)
		n := Network{Name: name}
		for _, a := range list {
			m, _ := a.(map[string]any)
			addr, _ := m["addr"].(string)
			typ, _ := m["OS-EXT-IPS:type"].(string)
			if addr != "" && (typ == "" || typ == "fixed") {
				n.FixedIP = addr
				break
			}
		}
		out = append(out, n)
	}
	return out
}

func (c *Client) toServer(ctx context.Context, gs *servers.Server) Server {
	s := Server{
		ID:               gs.ID,
		Name:             gs.Name,
		Status:           gs.Status,
		ProjectID:        gs.TenantID,
		KeyName:          gs.KeyName,
		AvailabilityZone: gs.AvailabilityZone,
		Metadata:         gs.Metadata,
		Networks:         addressNetworks(gs.Addresses),
		Host:             gs.Host,
		InstanceName:     gs.InstanceName,
		Created:          gs.Created,
	}
	for _, sg := range gs.SecurityGroups {
		if name, _ := sg["name"].(string); name != "" && !slices.Contains(s.SecurityGroups, name) {
			s.SecurityGroups = append(s.SecurityGroups, name)
		}
	}
	for _, v := range gs.AttachedVolumes {
		s.VolumeIDs = append(s.VolumeIDs, v.ID)
	}
	// Before 2.47 the flavor is {"id": ...}; from 2.47 it is embedded with
	// "original_name" and no id.
	if id, _ := gs.Flavor["id"].(string); id != "" {
		s.FlavorID = id
		s.FlavorName, _ = gs.Flavor["name"].(string)
	}
	if name, _ := gs.Flavor["original_name"].(string); name != "" {
		s.FlavorName = name
		if s.FlavorID == "" {
			s.FlavorID = c.flavorID(ctx, name)
		}
	}
	return s
}

// flavorID finds a flavor's id by its name (flavor names are unique in
// Nova), from a per-client cache filled by ListFlavors; an unknown name
// reloads the list at most once a minute.
func (c *Client) flavorID(ctx context.Context, name string) string {
	c.mu.Lock()
	id, ok := c.flavorIDs[name]
	fresh := time.Since(c.flavorsAt) < time.Minute
	c.mu.Unlock()
	if ok || fresh {
		return id
	}
	if _, err := c.ListFlavors(ctx); err != nil {
		c.log.Debugf("resolve flavor %q to an id: %v", name, err)
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flavorIDs[name] // "" for a deleted or private flavor
}

// CreateServer boots a server from existing volumes (block_device_mapping_v2,
// source and destination "volume", delete_on_termination false) with
// networks "none" when req.Networks is empty. It is never retried (POST);
// on a timeout the server may exist anyway.
func (c *Client) CreateServer(ctx context.Context, req ServerCreate) (*Server, error) {
	if len(req.BlockDevices) == 0 {
		return nil, fmt.Errorf("create server %q: no volumes to boot from", req.Name)
	}
	opts := servers.CreateOpts{
		Name:             req.Name,
		FlavorRef:        req.FlavorID,
		SecurityGroups:   req.SecurityGroups,
		AvailabilityZone: req.AvailabilityZone,
		Metadata:         req.Metadata,
	}
	if len(req.Networks) == 0 {
		opts.Networks = "none"
	} else {
		nets := make([]servers.Network, len(req.Networks))
		for i, n := range req.Networks {
			nets[i] = servers.Network{UUID: n}
		}
		opts.Networks = nets
	}
	for _, bd := range req.BlockDevices {
		opts.BlockDevice = append(opts.BlockDevice, servers.BlockDevice{
			SourceType:          servers.SourceVolume,
			DestinationType:     servers.DestinationVolume,
			UUID:                bd.VolumeID,
			BootIndex:           bd.BootIndex,
			DeleteOnTermination: false,
		})
	}
	var b servers.CreateOptsBuilder = opts
	if req.KeyName != "" {
		b = keypairs.CreateOptsExt{CreateOptsBuilder: opts, KeyName: req.KeyName}
	}
	gs, err := servers.Create(ctx, c.user.compute, b, nil).Extract()
	if err != nil {
		return nil, wrap(fmt.Sprintf("create server %q", req.Name), err)
	}
	if s, err := c.GetServer(ctx, gs.ID); err == nil {
		return s, nil
	}
	return &Server{ID: gs.ID, Name: req.Name, Status: "BUILD", FlavorID: req.FlavorID}, nil
}

// DeleteServer asks Nova to delete a server; WaitServerDeleted waits for it.
func (c *Client) DeleteServer(ctx context.Context, id string) error {
	return wrap("delete server "+id, servers.Delete(ctx, c.user.compute, id).ExtractErr())
}

// WaitServer polls the server until its status is one of want; ERROR fails
// at once.
func (c *Client) WaitServer(ctx context.Context, id string, timeout time.Duration, want ...string) (*Server, error) {
	var last *servers.Server
	err := WaitStatus(ctx, "server", id, timeout, false, func(ctx context.Context) (string, error) {
		gs, err := servers.Get(ctx, c.user.compute, id).Extract()
		if err != nil {
			return "", wrap("get server "+id, err)
		}
		last = gs
		return gs.Status, nil
	}, want...)
	if err != nil {
		if last != nil && strings.EqualFold(last.Status, "ERROR") && last.Fault.Message != "" {
			return nil, fmt.Errorf("%w: %s", err, last.Fault.Message)
		}
		return nil, err
	}
	s := c.toServer(ctx, last)
	return &s, nil
}

// WaitServerDeleted polls until the server answers 404.
func (c *Client) WaitServerDeleted(ctx context.Context, id string, timeout time.Duration) error {
	return WaitStatus(ctx, "server", id, timeout, true, func(ctx context.Context) (string, error) {
		gs, err := servers.Get(ctx, c.user.compute, id).Extract()
		if err != nil {
			return "", wrap("get server "+id, err)
		}
		return gs.Status, nil
	})
}

// ListAttachments lists the volumes attached to a server (Nova's view).
func (c *Client) ListAttachments(ctx context.Context, serverID string) ([]Attachment, error) {
	pages, err := volumeattach.List(c.user.compute, serverID).AllPages(ctx)
	if err != nil {
		return nil, wrap("list volume attachments of server "+serverID, err)
	}
	list, err := volumeattach.ExtractVolumeAttachments(pages)
	if err != nil {
		return nil, wrap("list volume attachments of server "+serverID+": read the answer", err)
	}
	out := make([]Attachment, 0, len(list))
	for _, a := range list {
		out = append(out, Attachment{VolumeID: a.VolumeID, ServerID: a.ServerID, Device: a.Device})
	}
	return out, nil
}

// AttachVolume attaches a volume to a server (os-volume_attachments). It is
// asynchronous: wait for the volume to become in-use.
func (c *Client) AttachVolume(ctx context.Context, serverID, volumeID string) (*Attachment, error) {
	a, err := volumeattach.Create(ctx, c.user.compute, serverID, volumeattach.CreateOpts{VolumeID: volumeID}).Extract()
	if err != nil {
		return nil, wrap(fmt.Sprintf("attach volume %s to server %s", volumeID, serverID), err)
	}
	return &Attachment{VolumeID: a.VolumeID, ServerID: a.ServerID, Device: a.Device}, nil
}

// DetachVolume detaches a volume from a server. It is asynchronous: wait
// for the volume to become available.
func (c *Client) DetachVolume(ctx context.Context, serverID, volumeID string) error {
	err := volumeattach.Delete(ctx, c.user.compute, serverID, volumeID).ExtractErr()
	return wrap(fmt.Sprintf("detach volume %s from server %s", volumeID, serverID), err)
}

// GetFlavor reads one flavor.
func (c *Client) GetFlavor(ctx context.Context, id string) (*Flavor, error) {
	f, err := flavors.Get(ctx, c.user.compute, id).Extract()
	if err != nil {
		return nil, wrap("get flavor "+id, err)
	}
	fl := toFlavor(f)
	return &fl, nil
}

// ListFlavors lists the flavors the project may use (all pages).
func (c *Client) ListFlavors(ctx context.Context) ([]Flavor, error) {
	pages, err := flavors.ListDetail(c.user.compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return nil, wrap("list flavors", err)
	}
	list, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return nil, wrap("list flavors: read the answer", err)
	}
	out := make([]Flavor, 0, len(list))
	ids := make(map[string]string, len(list))
	for i := range list {
		out = append(out, toFlavor(&list[i]))
		ids[list[i].Name] = list[i].ID
	}
	c.mu.Lock()
	c.flavorIDs, c.flavorsAt = ids, time.Now()
	c.mu.Unlock()
	return out, nil
}

func toFlavor(f *flavors.Flavor) Flavor {
	return Flavor{ID: f.ID, Name: f.Name, VCPUs: f.VCPUs, RAM: f.RAM, Disk: f.Disk}
}
