package testcloud

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const instanceKind = "instance"

var _ resource.ResourceWithImportState = (*instanceResource)(nil)

// instanceResource is testcloud_instance, kept in ROOT/instance/<id>.json
// with a generated id ("i-" and 8 hex digits). Names are unique among
// instances.
type instanceResource struct {
	storeClient
}

type instanceModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	Size types.String `tfsdk:"size"`
	Tags types.Map    `tfsdk:"tags"`
	IP   types.String `tfsdk:"ip"`
}

// instanceObject is an instance's file.
type instanceObject struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Size string            `json:"size"`
	Tags map[string]string `json:"tags,omitempty"`
	IP   string            `json:"ip"`
}

func newInstanceResource() resource.Resource { return &instanceResource{} }

func (r *instanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + instanceKind
}

func (r *instanceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An instance, kept in ROOT/instance/<id>.json.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   `Generated at create: "i-" and 8 hex digits.`,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:      true,
				Description:   "Unique among instances; changing it replaces the instance.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{nameValidator{}},
			},
			"size": schema.StringAttribute{
				Optional:    true,
				Computed:    true,
				Default:     stringdefault.StaticString("small"),
				Description: `The instance size; "small" by default.`,
			},
			"tags": schema.MapAttribute{
				Optional:    true,
				ElementType: types.StringType,
			},
			"ip": schema.StringAttribute{
				Computed:      true,
				Description:   "A private address (10.x.y.z) derived from the id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

// Create generates the id and fails when an instance of that name exists.
func (r *instanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := newInstanceID()
	obj := instanceObject{
		ID:   id,
		Name: plan.Name.ValueString(),
		Size: plan.Size.ValueString(),
		Tags: tagsMap(ctx, plan.Tags, &resp.Diagnostics),
		IP:   instanceIP(id),
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Create(ctx, instanceKind, id, obj.Name, obj); err != nil {
		addCreateError(&resp.Diagnostics, "testcloud_instance", err)
		return
	}
	plan.ID = types.StringValue(id)
	plan.IP = types.StringValue(obj.IP)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Read returns the file's values, and removes the instance from state when
// its file is gone.
func (r *instanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var obj instanceObject
	err := r.store.Get(ctx, instanceKind, state.ID.ValueString(), &obj)
	if errors.Is(err, ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading testcloud_instance", err.Error())
		return
	}
	state.Name = types.StringValue(obj.Name)
	state.Size = types.StringValue(obj.Size)
	state.Tags = tagsValue(obj.Tags, state.Tags)
	state.IP = types.StringValue(obj.IP)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *instanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj := instanceObject{
		ID:   plan.ID.ValueString(),
		Name: plan.Name.ValueString(),
		Size: plan.Size.ValueString(),
		Tags: tagsMap(ctx, plan.Tags, &resp.Diagnostics),
		IP:   plan.IP.ValueString(),
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Put(ctx, instanceKind, obj.ID, obj); err != nil {
		resp.Diagnostics.AddError("Updating testcloud_instance", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete removes the file; an instance already gone is not an error.
func (r *instanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.store.Delete(ctx, instanceKind, state.ID.ValueString()); err != nil {
		resp.Diagnostics.AddError("Deleting testcloud_instance", err.Error())
	}
}

// ImportState takes the instance's id (i-...); Read fills the rest.
func (r *instanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// newInstanceID returns "i-" and 8 random hex digits.
func newInstanceID() string {
	var b [4]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return "i-" + hex.EncodeToString(b[:])
}

// instanceIP derives the instance's address from its id: the same id
// always gets the same 10.x.y.z.
func instanceIP(id string) string {
	h := sha256.Sum256([]byte(id))
	return fmt.Sprintf("10.%d.%d.%d", h[0], h[1], h[2])
}
