using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>
/// A generation matrix in bf16 or int8 (<see cref="CompactMatrix"/>: int8 with one symmetric scale per column of B, that
/// is per output unit); the products are <see cref="CompactGemv"/>'s, whose tiles give a row the same result alone or
/// with others, so a batch needs no second layout.
/// </summary>
internal sealed class CompactGenerationMatrix : GenerationMatrix
{
    private readonly CompactMatrix _b;

    public CompactGenerationMatrix(WeightFormat format, KernelPolicy policy, int rows, int cols) : base(policy, rows, cols)
        => _b = new CompactMatrix(format, rows, cols);

    public override WeightFormat Format => _b.Format;

    public override long StoredBytes => _b.StoredBytes;

    public override void Pack(ReadOnlySpan<float> source) => _b.Pack(source);

    public override void PackTransposeOf(ReadOnlySpan<float> source) => _b.PackTransposeOf(source);

    public override GemvInput Prepare(ReadOnlySpan<float> x, int rows, GemvScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        var prepared = scratch.Compact;
        if (prepared is null || prepared.Format != Format || prepared.Columns != Rows)
            throw new ArgumentException($"the scratch prepares {scratch.Format} inputs of {prepared?.Columns ?? 0} columns; these {Format} weights have K = {Rows}", nameof(scratch));
        prepared.Prepare(Policy, x, rows);
        return new GemvInput(x, rows, Rows, prepared);
    }

    public override void RunColumns(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x, int first, int end)
    {
        var prepared = x.Prepared ?? throw new ArgumentException($"{Format} weights multiply prepared inputs (Prepare)", nameof(x));
        switch (epilogue)
        {
            case GemvEpilogue.Tanh: CompactGemv.RunColumns<TanhEpilogue>(Policy, c, init, prepared, _b, first, end); break;
            case GemvEpilogue.Relu: CompactGemv.RunColumns<ReluEpilogue>(Policy, c, init, prepared, _b, first, end); break;
            default: CompactGemv.RunColumns<NoEpilogue>(Policy, c, init, prepared, _b, first, end); break;
        }
    }

    public override GemvBlock Block(int first, int width)
    {
        CheckColumns(first, first + width);
        return new CompactBlock(this, first, first + width);
    }

    internal override double Value(int k, int j) => _b.Value(k, j);

    private sealed class CompactBlock(CompactGenerationMatrix matrix, int first, int end) : GemvBlock
    {
        public override void Run(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x)
            => matrix.RunColumns(epilogue, c, init, x, first, end);
    }
}
