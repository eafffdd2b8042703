package testcloud

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// HangKind is the store kind of the marker a testcloud_hang read writes,
// ROOT/hang/<name>.json, before it blocks.
const HangKind = "hang"

// HangMarker is the content of a hang marker: which provider process is
// blocked, and since when.
type HangMarker struct {
	Name    string    `json:"name"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

var _ datasource.DataSourceWithConfigure = (*hangDataSource)(nil)

// hangDataSource is testcloud_hang: reading it blocks, so that tests can
// interrupt a terraform run while a provider is busy. Its Read writes the
// marker ROOT/hang/<name>.json and then blocks for the given seconds; with
// ignore_cancel it blocks even after terraform asks the provider to stop
// (a provider stuck in a call that takes no context), else it returns
// an error as soon as terraform stops it.
type hangDataSource struct {
	store *Store
}

type hangModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Seconds      types.Int64  `tfsdk:"seconds"`
	IgnoreCancel types.Bool   `tfsdk:"ignore_cancel"`
}

func newHangDataSource() datasource.DataSource { return &hangDataSource{} }

func (d *hangDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_hang"
}

func (d *hangDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Blocks when read: writes the marker ROOT/hang/<name>.json, then waits. For tests that interrupt terraform.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:    true,
				Description: "The name.",
			},
			"name": schema.StringAttribute{
				Required:    true,
				Description: "Names the marker file.",
				Validators:  []validator.String{nameValidator{}},
			},
			"seconds": schema.Int64Attribute{
				Required:    true,
				Description: "How long a read blocks.",
			},
			"ignore_cancel": schema.BoolAttribute{
				Optional:    true,
				Description: "Keep blocking after terraform stops the provider (default false: return an error at once).",
			},
		},
	}
}

func (d *hangDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if req.ProviderData == nil {
		return // the provider is not configured yet (validation)
	}
	store, ok := req.ProviderData.(*Store)
	if !ok {
		resp.Diagnostics.AddError("testcloud: unexpected provider data", fmt.Sprintf("got %T, want *testcloud.Store", req.ProviderData))
		return
	}
	d.store = store
}

func (d *hangDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg hangModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	marker := HangMarker{Name: name, PID: os.Getpid(), Started: time.Now().UTC()}
	if err := d.store.Put(ctx, HangKind, name, marker); err != nil {
		resp.Diagnostics.AddError("Writing the testcloud_hang marker", err.Error())
		return
	}
	wait := time.Duration(cfg.Seconds.ValueInt64()) * time.Second
	if err := Hang(ctx, wait, cfg.IgnoreCancel.ValueBool()); err != nil {
		resp.Diagnostics.AddError("testcloud_hang interrupted", err.Error())
		return
	}
	cfg.ID = cfg.Name
	resp.Diagnostics.Append(resp.State.Set(ctx, cfg)...)
}

// Hang blocks for d. Unless ignoreCancel is set it returns ctx's error as
// soon as ctx is done.
func Hang(ctx context.Context, d time.Duration, ignoreCancel bool) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	if ignoreCancel {
		<-timer.C
		return nil
	}
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
