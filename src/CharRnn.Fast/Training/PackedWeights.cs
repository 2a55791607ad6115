using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// Whhᵀ and Whyᵀ, the layouts the forward GEMMs read (axpy form, vectors along the output dimension). Repacked from
/// the parameters whenever they change: H² + O·H copies, about 1/(3·T·B) of a training step's arithmetic.
/// </summary>
internal sealed class PackedWeights(RnnShape shape)
{
    /// <summary>Whhᵀ: [H,H] row-major.</summary>
    public AlignedBuffer WhhT { get; } = new(shape.HiddenSize * shape.HiddenSize);

    /// <summary>Whyᵀ: [H,O] row-major.</summary>
    public AlignedBuffer WhyT { get; } = new(shape.HiddenSize * shape.OutputSize);

    public void Pack(KernelPolicy policy, RnnParameters p)
    {
        int h = p.Shape.HiddenSize;
        RowKernels.Transpose(policy, WhhT, p.Whh, h, h);
        RowKernels.Transpose(policy, WhyT, p.Why, p.Shape.OutputSize, h);
    }
}
