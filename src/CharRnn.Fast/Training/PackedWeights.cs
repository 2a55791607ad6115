using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// The weights in the layouts the GEMMs read (see <see cref="PackedMatrix"/>): Whhᵀ for the forward recurrence and Whh
/// for the backward one (column panels when a step has several streams, row-major for the batch-1 GEMV), Whyᵀ for the
/// logits and Why for dh (panels: T·B rows reuse them). Repacked from the parameters whenever they change: 2H² + 2O·H
/// copies, about 1/(1.5·T·B) of a training step's arithmetic.
/// </summary>
internal sealed class PackedWeights(KernelPolicy policy, RnnShape shape, int batch)
{
    /// <summary>Whhᵀ: [H,H], B of h_t = act(… + h_{t−1}·Whhᵀ).</summary>
    public PackedMatrix WhhT { get; } = new(policy, shape.HiddenSize, shape.HiddenSize, panels: batch > 1);

    /// <summary>Whh: [H,H], B of draw_{t+1}·Whh.</summary>
    public PackedMatrix Whh { get; } = new(policy, shape.HiddenSize, shape.HiddenSize, panels: batch > 1);

    /// <summary>Whyᵀ: [H,O], B of the logits h·Whyᵀ.</summary>
    public PackedMatrix WhyT { get; } = new(policy, shape.HiddenSize, shape.OutputSize);

    /// <summary>Why: [O,H], B of dh = dy·Why.</summary>
    public PackedMatrix Why { get; } = new(policy, shape.OutputSize, shape.HiddenSize);

    public void Pack(RnnParameters p)
    {
        WhhT.PackTransposeOf(p.Whh);
        Whh.Pack(p.Whh);
        WhyT.PackTransposeOf(p.Why);
        Why.Pack(p.Why);
    }
}
