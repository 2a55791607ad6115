using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>What a generation product applies to each element as it stores it.</summary>
internal enum GemvEpilogue
{
    None,
    Tanh,
    Relu,
}

/// <summary>
/// One weight matrix a generation step streams, B = Wᵀ [K,N] (W_hhᵀ, W_ihᵀ above layer 0, the output layer's Wᵀ), held
/// in one <see cref="WeightFormat"/> on the model's kernel policy, with the product generation runs on it:
/// C[M,N] = E(init + x[M,K]·B) over a range of columns. The format is chosen once, when the <see cref="InferenceModel"/>
/// is made; <see cref="Generator"/> and <see cref="BatchGenerator"/> make the same calls whatever it is: prepare x once
/// (<see cref="Prepare"/>: int8 rounds each row to int8 with its own scale, bf16 lays the floats out in pairs, f32 reads x
/// as it is), then run the columns they need. A row's results do not depend on how the columns are split (at multiples
/// of <see cref="KernelPolicy.ColumnSplitUnit"/>) nor on the other rows prepared with it. Nothing is allocated per call.
/// </summary>
internal abstract class GenerationMatrix
{
    protected GenerationMatrix(KernelPolicy policy, int rows, int cols)
    {
        Policy = policy;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>Room for a [<paramref name="rows"/>, <paramref name="cols"/>] B in <paramref name="format"/> on <paramref name="policy"/>.</summary>
    public static GenerationMatrix Create(WeightFormat format, KernelPolicy policy, int rows, int cols) => format switch
    {
        WeightFormat.F32 => new F32GenerationMatrix(policy, rows, cols),
        WeightFormat.Bf16 or WeightFormat.Int8 => new CompactGenerationMatrix(format, policy, rows, cols),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "weights are f32, bf16 or int8"),
    };

    public abstract WeightFormat Format { get; }

    /// <summary>The policy the weights are laid out for and the products run on.</summary>
    public KernelPolicy Policy { get; }

    /// <summary>K.</summary>
    public int Rows { get; }

    /// <summary>N.</summary>
    public int Cols { get; }

    /// <summary>Bytes of weights (and int8 scales) a product over every column reads.</summary>
    public abstract long StoredBytes { get; }

    /// <summary>Packs <paramref name="source"/> B [K,N] row-major (W_ihᵀ as the parameters store it).</summary>
    public abstract void Pack(ReadOnlySpan<float> source);

    /// <summary>Packs Sᵀ for <paramref name="source"/> S [N,K] row-major (W_hh [G·H,H], W [V,H]); int8 takes one scale per row of S.</summary>
    public abstract void PackTransposeOf(ReadOnlySpan<float> source);

    /// <summary>
    /// The first <paramref name="rows"/> rows of <paramref name="x"/> [rows, K] as this format's products read them,
    /// prepared into <paramref name="scratch"/> where the format needs it (valid until that scratch is prepared again).
    /// </summary>
    public abstract GemvInput Prepare(ReadOnlySpan<float> x, int rows, GemvScratch scratch);

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="end"/>) of C [x.Rows, N] = E(init + x·B), the rest of c untouched;
    /// <paramref name="init"/> empty means zero, it may alias c.
    /// </summary>
    public abstract void RunColumns(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x, int first, int end);

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="first"/> + <paramref name="width"/>) (one gate block) laid out for
    /// several rows at once (a batch of streams), with each row's results bit-identical to <see cref="RunColumns"/> on that
    /// row alone over the same columns.
    /// </summary>
    public abstract GemvBlock Block(int first, int width);

    /// <summary>B(k,j) as the products multiply it (the dequantized weight), exact in double (tests).</summary>
    internal abstract double Value(int k, int j);

    protected void CheckColumns(int first, int end)
    {
        if (first < 0 || end > Cols || first > end) throw new ArgumentOutOfRangeException(nameof(first), $"columns [{first},{end}) are not within [0,{Cols})");
    }
}

/// <summary>
/// Columns of a <see cref="GenerationMatrix"/> prepared for the rows of a batch: <see cref="Run"/> computes
/// C = E(init + x·B) on them for every row of x, C and init [x.Rows, N] (the block's columns of each row).
/// </summary>
internal abstract class GemvBlock
{
    public abstract void Run(GemvEpilogue epilogue, Span<float> c, ReadOnlySpan<float> init, scoped in GemvInput x);
}

/// <summary>
/// Rows of x as a <see cref="GenerationMatrix"/>'s product reads them: the floats themselves (<see cref="X"/>, [Rows, K]),
/// and for bf16 and int8 their prepared form.
/// </summary>
internal readonly ref struct GemvInput
{
    public GemvInput(ReadOnlySpan<float> x, int rows, int columns, CompactActivations? prepared)
    {
        if (x.Length < (long)rows * columns) throw new ArgumentException($"x holds {x.Length} floats, needs [{rows},{columns}]", nameof(x));
        X = x;
        Rows = rows;
        Columns = columns;
        Prepared = prepared;
    }

    public ReadOnlySpan<float> X { get; }
    public int Rows { get; }

    /// <summary>K.</summary>
    public int Columns { get; }

    /// <summary>The compact formats' prepared rows (null for f32).</summary>
    public CompactActivations? Prepared { get; }
}

/// <summary>
/// Where a thread prepares the inputs of its products with one weight format: room for <c>rows</c> rows of K activations
/// (nothing for f32). One per thread; the matrices of a model with the same K share it, one product after another.
/// </summary>
internal sealed class GemvScratch
{
    public GemvScratch(WeightFormat format, int rows, int columns)
    {
        Format = format;
        Compact = format == WeightFormat.F32 ? null : new CompactActivations(format, rows, columns);
    }

    public WeightFormat Format { get; }

    /// <summary>bf16 and int8: the prepared rows.</summary>
    internal CompactActivations? Compact { get; }
}
