using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>
/// A generation matrix in f32: B row-major (<see cref="PackedMatrix"/> without panels), which the single-row GEMV's
/// 1 × 8-vector tiles stream; the products are the float <see cref="Gemm"/>'s.
/// </summary>
internal sealed class F32GenerationMatrix : GenerationMatrix
{
    private readonly PackedMatrix _b; // [K,N] row-major

    public F32GenerationMatrix(KernelPolicy policy, int rows, int cols) : base(policy, rows, cols)
        => _b = new PackedMatrix(policy, rows, cols, panels: false);

    public override WeightFormat Format => WeightFormat.F32;

    public override long StoredBytes => (long)Rows * Cols * sizeof(float);

    public override void Pack(ReadOnlySpan<float> source) => _b.Pack(source);

    public override void PackTransposeOf(ReadOnlySpan<float> source) => _b.PackTransposeOf(source);

    public override GemvInput Prepare(ReadOnlySpan<float> x, int rows, GemvScratch scratch) => new(x, rows, Rows, null);

    public override void RunColumns(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x, int first, int end)
    {
        var a = StridedMatrix.RowMajor(x.X, x.Rows, Rows);
        switch (epilogue)
        {
            case GemvEpilogue.Tanh: Gemm.RunColumns<TanhEpilogue>(Policy, c, init, a, _b.View(), default, first, end); break;
            case GemvEpilogue.Relu: Gemm.RunColumns<ReluEpilogue>(Policy, c, init, a, _b.View(), default, first, end); break;
            default: Gemm.RunColumns<NoEpilogue>(Policy, c, init, a, _b.View(), default, first, end); break;
        }
    }

    public override GemvBlock Block(int first, int width)
    {
        CheckColumns(first, first + width);
        // a single row's GEMV covers whole 8-vector tiles from the block's start: those columns (the bulk) go to a GEMM
        // over panels, whose tiles give each element the same FMAs in the same order; the rest (the tail) row by row
        int tile = 8 * Policy.Width, bulk = width - width % tile;
        var panels = new PackedMatrix(Policy, Rows, bulk);
        panels.PackColumns(_b.Data, Cols, first);
        return new F32Block(this, panels, first, width, bulk);
    }

    internal override double Value(int k, int j) => _b[k, j];

    private sealed class F32Block(F32GenerationMatrix matrix, PackedMatrix panels, int first, int width, int bulk) : GemvBlock
    {
        public override void Run(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x)
        {
            switch (epilogue)
            {
                case GemvEpilogue.Tanh: Run<TanhEpilogue>(c, init, x); break;
                case GemvEpilogue.Relu: Run<ReluEpilogue>(c, init, x); break;
                default: Run<NoEpilogue>(c, init, x); break;
            }
        }

        // c and init: [rows, N]; the block's columns of every row
        private void Run<TEpilogue>(Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x) where TEpilogue : IEpilogue
        {
            int k = matrix.Rows, n = matrix.Cols;
            var policy = matrix.Policy;
            var a = StridedMatrix.RowMajor(x.X, x.Rows, k);
            if (bulk > 0) Gemm.RunColumns<TEpilogue>(policy, c.Slice(first), init.IsEmpty ? default : init.Slice(first), a, panels.View(), default, 0, bulk, n);
            if (bulk == width) return;
            for (int r = 0; r < x.Rows; r++)
            {
                // the single row's call covers [first, first + width) of the row-major weights; its tail starts past the bulk
                var row = StridedMatrix.RowMajor(x.X.Slice(r * k, k), 1, k);
                Gemm.RunColumns<TEpilogue>(policy, c.Slice(r * n, n), init.IsEmpty ? default : init.Slice(r * n, n), row, matrix._b.View(), default, first + bulk, first + width);
            }
        }
    }
}
