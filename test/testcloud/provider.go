// Package testcloud is Landform's test provider, landform/testcloud: a small
// but real Terraform provider whose "cloud" is a directory. Every object is
// one JSON file ROOT/<type>/<id>.json (type is bucket, instance or secret),
// so editing or deleting a file outside Terraform is real drift, and
// creating an object whose name is taken fails until it is imported.
// Reading the data source testcloud_hang blocks, for tests that interrupt
// terraform while a provider is busy; testcloud_env returns a variable of
// the provider's environment, for tests of what terraform is given.
//
// The binary is cmd/terraform-provider-testcloud.
package testcloud

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// RootEnv is the environment variable that names the cloud directory when
// the provider's root is not set.
const RootEnv = "TESTCLOUD_ROOT"

var _ provider.Provider = (*testcloudProvider)(nil)

type testcloudProvider struct {
	version string
}

type providerModel struct {
	Root types.String `tfsdk:"root"`
}

// New returns the provider factory providerserver.Serve wants; version is
// the provider's version, e.g. "0.1.0".
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &testcloudProvider{version: version}
	}
}

func (p *testcloudProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "testcloud"
	resp.Version = p.version
}

func (p *testcloudProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A cloud kept in a directory: each object is the JSON file ROOT/<type>/<id>.json.",
		Attributes: map[string]schema.Attribute{
			"root": schema.StringAttribute{
				Optional:    true,
				Description: "The cloud's directory, created on demand. Defaults to $" + RootEnv + ".",
			},
		},
	}
}

// Configure opens the store in root, or $TESTCLOUD_ROOT when root is unset
// or empty, and hands it to the resources. It is an error when both are
// empty or when root is unknown.
func (p *testcloudProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Root.IsUnknown() {
		resp.Diagnostics.AddError("testcloud: root is unknown",
			"The provider's root must be known before apply; do not derive it from a resource attribute.")
		return
	}
	root := cfg.Root.ValueString()
	if root == "" {
		root = os.Getenv(RootEnv)
	}
	if root == "" {
		resp.Diagnostics.AddError("testcloud: set the provider's root or "+RootEnv,
			"The testcloud provider keeps its objects in a directory: set root in the provider block or the "+RootEnv+" environment variable.")
		return
	}
	store, err := NewStore(root)
	if err != nil {
		resp.Diagnostics.AddError("testcloud: opening the cloud", err.Error())
		return
	}
	resp.ResourceData = store
	resp.DataSourceData = store
}

func (p *testcloudProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newBucketResource, newInstanceResource, newSecretResource}
}

func (p *testcloudProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newHangDataSource, newEnvDataSource}
}

// storeClient is embedded in every resource: it receives the Store the
// provider configured.
type storeClient struct {
	store *Store
}

func (c *storeClient) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return // the provider is not configured yet (validation)
	}
	store, ok := req.ProviderData.(*Store)
	if !ok {
		resp.Diagnostics.AddError("testcloud: unexpected provider data", fmt.Sprintf("got %T, want *testcloud.Store", req.ProviderData))
		return
	}
	c.store = store
}

// addCreateError reports a failed Create, with the import hint when the
// object exists.
func addCreateError(diags *diag.Diagnostics, typeName string, err error) {
	if exists, ok := errors.AsType[*ExistsError](err); ok {
		diags.AddError(
			fmt.Sprintf("%s %q already exists (%s); import it with terraform import", typeName, exists.Name, exists.Path),
			fmt.Sprintf("The object is not in this state. To manage it here, run:\n  terraform import ADDRESS %s", exists.ID))
		return
	}
	diags.AddError("Creating "+typeName, err.Error())
}

// tagsValue converts the tags read from a file into the state value. A
// file's absent and empty tags are the same; which one the state gets
// follows prior (the plan or the prior state), so null stays null and {}
// stays {} and a plan after apply is empty.
func tagsValue(tags map[string]string, prior types.Map) types.Map {
	if len(tags) == 0 {
		if prior.IsNull() || prior.IsUnknown() {
			return types.MapNull(types.StringType)
		}
		return types.MapValueMust(types.StringType, nil)
	}
	return stringMap(tags)
}

func stringMap(tags map[string]string) types.Map {
	elems := make(map[string]attr.Value, len(tags))
	for k, v := range tags {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// tagsMap converts the tags in a plan into what the file holds; nil for null
// or empty.
func tagsMap(ctx context.Context, tags types.Map, diags *diag.Diagnostics) map[string]string {
	if tags.IsNull() || tags.IsUnknown() || len(tags.Elements()) == 0 {
		return nil
	}
	var m map[string]string
	diags.Append(tags.ElementsAs(ctx, &m, false)...)
	return m
}

// nameValidator rejects names that cannot be file names in the cloud.
type nameValidator struct{}

var _ validator.String = nameValidator{}

func (nameValidator) Description(context.Context) string {
	return "letters, digits, '.', '_' and '-', starting with a letter or digit"
}

func (v nameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (nameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkID(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid name", err.Error())
	}
}
