package testcloud

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSource = (*envDataSource)(nil)

// envDataSource is testcloud_env: it reads one variable of the provider's
// environment, which is terraform's. HCL cannot read environment variables,
// so tests that check what a provider sees (Landform's sandbox passes only
// some of its environment to terraform) read them through it.
type envDataSource struct{}

type envModel struct {
	ID    types.String `tfsdk:"id"`
	Name  types.String `tfsdk:"name"`
	Value types.String `tfsdk:"value"`
	Set   types.Bool   `tfsdk:"set"`
}

func newEnvDataSource() datasource.DataSource { return &envDataSource{} }

func (d *envDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_env"
}

func (d *envDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Reads one variable of the provider's environment.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:    true,
				Description: "The name.",
			},
			"name": schema.StringAttribute{
				Required:    true,
				Description: "The variable's name.",
			},
			"value": schema.StringAttribute{
				Computed:    true,
				Description: "The variable's value, \"\" when it is not set.",
			},
			"set": schema.BoolAttribute{
				Computed:    true,
				Description: "Whether the variable is set.",
			},
		},
	}
}

func (d *envDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m envModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, ok := os.LookupEnv(m.Name.ValueString())
	m.ID = m.Name
	m.Value = types.StringValue(v)
	m.Set = types.BoolValue(ok)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
