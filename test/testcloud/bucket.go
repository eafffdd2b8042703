package testcloud

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const bucketKind = "bucket"

var _ resource.ResourceWithImportState = (*bucketResource)(nil)

// bucketResource is testcloud_bucket, kept in ROOT/bucket/<name>.json. Its
// id is its name.
type bucketResource struct {
	storeClient
}

type bucketModel struct {
	ID         types.String `tfsdk:"id"`
	Name       types.String `tfsdk:"name"`
	Versioning types.Bool   `tfsdk:"versioning"`
	Tags       types.Map    `tfsdk:"tags"`
}

// bucketObject is a bucket's file.
type bucketObject struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Versioning bool              `json:"versioning"`
	Tags       map[string]string `json:"tags,omitempty"`
}

func newBucketResource() resource.Resource { return &bucketResource{} }

func (r *bucketResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + bucketKind
}

func (r *bucketResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A bucket, kept in ROOT/bucket/<name>.json.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "The bucket's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:      true,
				Description:   "Unique among buckets; changing it replaces the bucket.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{nameValidator{}},
			},
			"versioning": schema.BoolAttribute{
				Optional:    true,
				Computed:    true,
				Default:     booldefault.StaticBool(false),
				Description: "Whether the bucket keeps object versions.",
			},
			"tags": schema.MapAttribute{
				Optional:    true,
				ElementType: types.StringType,
			},
		},
	}
}

// Create fails when a bucket of that name exists.
func (r *bucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan bucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	obj := bucketObject{ID: name, Name: name, Versioning: plan.Versioning.ValueBool(), Tags: tagsMap(ctx, plan.Tags, &resp.Diagnostics)}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Create(ctx, bucketKind, name, name, obj); err != nil {
		addCreateError(&resp.Diagnostics, "testcloud_bucket", err)
		return
	}
	plan.ID = types.StringValue(name)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Read returns the file's values, and removes the bucket from state when
// its file is gone.
func (r *bucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state bucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var obj bucketObject
	err := r.store.Get(ctx, bucketKind, state.ID.ValueString(), &obj)
	if errors.Is(err, ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading testcloud_bucket", err.Error())
		return
	}
	state.Name = types.StringValue(obj.Name)
	state.Versioning = types.BoolValue(obj.Versioning)
	state.Tags = tagsValue(obj.Tags, state.Tags)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *bucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan bucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj := bucketObject{ID: plan.ID.ValueString(), Name: plan.Name.ValueString(), Versioning: plan.Versioning.ValueBool(), Tags: tagsMap(ctx, plan.Tags, &resp.Diagnostics)}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Put(ctx, bucketKind, obj.ID, obj); err != nil {
		resp.Diagnostics.AddError("Updating testcloud_bucket", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete removes the file; a bucket already gone is not an error.
func (r *bucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state bucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Delete(ctx, bucketKind, state.ID.ValueString()); err != nil {
		resp.Diagnostics.AddError("Deleting testcloud_bucket", err.Error())
	}
}

// ImportState takes the bucket's name as the id; Read fills the rest.
func (r *bucketResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
