package testcloud

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const secretKind = "secret"

var _ resource.ResourceWithImportState = (*secretResource)(nil)

// secretResource is testcloud_secret, kept in ROOT/secret/<name>.json. Its
// id is its name; its value is sensitive, so Terraform never prints it
// (the file and the state hold it in clear, as real state does).
type secretResource struct {
	storeClient
}

type secretModel struct {
	ID    types.String `tfsdk:"id"`
	Name  types.String `tfsdk:"name"`
	Value types.String `tfsdk:"value"`
}

// secretObject is a secret's file.
type secretObject struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func newSecretResource() resource.Resource { return &secretResource{} }

func (r *secretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + secretKind
}

func (r *secretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A secret, kept in ROOT/secret/<name>.json.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "The secret's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:      true,
				Description:   "Unique among secrets; changing it replaces the secret.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{nameValidator{}},
			},
			"value": schema.StringAttribute{
				Required:  true,
				Sensitive: true,
			},
		},
	}
}

// Create fails when a secret of that name exists.
func (r *secretResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan secretModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	obj := secretObject{ID: name, Name: name, Value: plan.Value.ValueString()}
	if err := r.store.Create(ctx, secretKind, name, name, obj); err != nil {
		addCreateError(&resp.Diagnostics, "testcloud_secret", err)
		return
	}
	plan.ID = types.StringValue(name)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Read returns the file's values, and removes the secret from state when
// its file is gone.
func (r *secretResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state secretModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var obj secretObject
	err := r.store.Get(ctx, secretKind, state.ID.ValueString(), &obj)
	if errors.Is(err, ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading testcloud_secret", err.Error())
		return
	}
	state.Name = types.StringValue(obj.Name)
	state.Value = types.StringValue(obj.Value)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *secretResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan secretModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj := secretObject{ID: plan.ID.ValueString(), Name: plan.Name.ValueString(), Value: plan.Value.ValueString()}
	if err := r.store.Put(ctx, secretKind, obj.ID, obj); err != nil {
		resp.Diagnostics.AddError("Updating testcloud_secret", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete removes the file; a secret already gone is not an error.
func (r *secretResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state secretModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Delete(ctx, secretKind, state.ID.ValueString()); err != nil {
		resp.Diagnostics.AddError("Deleting testcloud_secret", err.Error())
	}
}

// ImportState takes the secret's name as the id; Read fills the rest.
func (r *secretResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
