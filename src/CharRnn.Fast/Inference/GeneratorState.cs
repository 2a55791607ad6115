using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Inference;

/// <summary>
/// A generator's resumable state as <see cref="Size"/> bytes: everything that decides what it generates next — every
/// layer's h, an LSTM's c, the logits of the last fed token, the sampling RNG and where the sample protocol stands
/// (nothing fed yet, or a lines sample ended). <see cref="Generator.SaveState"/> and
/// <see cref="BatchGenerator.SaveState"/> write it, their <c>LoadState</c> read it: a state restored into any generator
/// or batch stream of a model of the same shape and vocabulary continues with exactly the tokens the uninterrupted one
/// gives (on the same kernel policy; on another, within its rounding). A server keeps one such buffer per conversation
/// instead of a generator.
/// <para>
/// Layout (little-endian): 0 the signature "CRST"; 4 u32 format 1; 8 u8 cell (0 rnn, 1 lstm, 2 gru); 9 u8 nonlinearity
/// (0 tanh, 1 relu); 10 u8 lines model (0 or 1); 11 u8 flags (1 has logits, 2 ended); 12 i32 layers L; 16 i32 hidden
/// size H; 20 i32 vocabulary size V; 24 u64 FNV-1a hash of the vocabulary's scalar values (4 bytes each, in id
/// order); 32 the RNG's four u64 words (xoshiro256**); 64 h [L,H] f32, then c [L,H] f32 (LSTM only), then logits [V]
/// f32 (zeros before the first fed token).
/// </para>
/// </summary>
public static class GeneratorState
{
    private const int HeaderBytes = 64, RngOffset = 32;
    private const uint Signature = 0x54535243; // "CRST"
    private const uint Format = 1;
    private const byte HasLogitsFlag = 1, EndedFlag = 2;

    /// <summary>Bytes of a saved state of <paramref name="model"/>: 64 + 4·(L·H (twice for an LSTM) + V).</summary>
    public static int Size(InferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return HeaderBytes + sizeof(float) * (model.Shape.StateSize(1) + model.VocabularySize);
    }

    /// <summary>
    /// Writes one stream's state into the first <see cref="Size"/> bytes of <paramref name="state"/> and returns that
    /// size; <paramref name="logits"/> [V] is empty before the first fed token. Allocates nothing.
    /// </summary>
    internal static int Write(InferenceModel model, Span<byte> state, in StateRows rows, ReadOnlySpan<float> logits, Rng rng, bool ended)
    {
        int size = Size(model);
        if (state.Length < size) throw new ArgumentException($"a saved state of this model takes {size} bytes; the span holds {state.Length}", nameof(state));
        state = state[..size];
        BinaryPrimitives.WriteUInt32LittleEndian(state, Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(state[4..], Format);
        state[8] = CellCode(model.Cell);
        state[9] = NonlinearityCode(model.Nonlinearity);
        state[10] = model.SequenceMode ? (byte)1 : (byte)0;
        state[11] = (byte)((logits.IsEmpty ? 0 : HasLogitsFlag) | (ended ? EndedFlag : 0));
        BinaryPrimitives.WriteInt32LittleEndian(state[12..], model.Layers);
        BinaryPrimitives.WriteInt32LittleEndian(state[16..], model.HiddenSize);
        BinaryPrimitives.WriteInt32LittleEndian(state[20..], model.VocabularySize);
        BinaryPrimitives.WriteUInt64LittleEndian(state[24..], VocabularyHash(model.Vocabulary));
        rng.WriteState(state.Slice(RngOffset, Rng.StateBytes));
        int h = model.HiddenSize;
        for (int l = 0; l < model.Layers; l++)
        {
            Put(rows.H.Slice(l * rows.LayerStride, h), state.Slice(HiddenOffset(model, l), h * sizeof(float)));
            if (model.Cell.HasCellState()) Put(rows.C.Slice(l * rows.LayerStride, h), state.Slice(CellOffset(model, l), h * sizeof(float)));
        }
        var logitBytes = state[LogitsOffset(model)..];
        if (logits.IsEmpty) logitBytes.Clear();
        else Put(logits, logitBytes);
        return size;
    }

    /// <summary>
    /// Checks <paramref name="state"/> against <paramref name="model"/> (throwing <see cref="StateMismatchException"/>
    /// before anything changes), then copies it into the stream's rows, <paramref name="logits"/> [V] and the RNG and
    /// returns the protocol's flags. Allocates nothing unless it throws.
    /// </summary>
    internal static (bool HasLogits, bool Ended) Read(InferenceModel model, ReadOnlySpan<byte> state, in StateRows rows, Span<float> logits, Rng rng)
    {
        byte flags = Validate(model, state);
        rng.ReadState(state.Slice(RngOffset, Rng.StateBytes));
        int h = model.HiddenSize;
        for (int l = 0; l < model.Layers; l++)
        {
            Get(state.Slice(HiddenOffset(model, l), h * sizeof(float)), rows.H.Slice(l * rows.LayerStride, h));
            if (model.Cell.HasCellState()) Get(state.Slice(CellOffset(model, l), h * sizeof(float)), rows.C.Slice(l * rows.LayerStride, h));
        }
        Get(state[LogitsOffset(model)..], logits[..model.VocabularySize]);
        return ((flags & HasLogitsFlag) != 0, (flags & EndedFlag) != 0);
    }

    // The header must describe this model exactly and the flags and RNG be ones a generator can hold; returns the flags.
    private static byte Validate(InferenceModel model, ReadOnlySpan<byte> state)
    {
        if (state.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(state) != Signature)
            throw new StateMismatchException($"not a saved generator state: it does not start with the state's signature (\"CRST\"; {state.Length} bytes given)");
        uint format = BinaryPrimitives.ReadUInt32LittleEndian(state[4..]);
        if (format != Format) throw new StateMismatchException($"a saved state of format {format}; this library reads format {Format}");
        byte cell = state[8], nonlinearity = state[9], lines = state[10], flags = state[11];
        int layers = BinaryPrimitives.ReadInt32LittleEndian(state[12..]);
        int hidden = BinaryPrimitives.ReadInt32LittleEndian(state[16..]);
        int vocabulary = BinaryPrimitives.ReadInt32LittleEndian(state[20..]);
        byte modelLines = model.SequenceMode ? (byte)1 : (byte)0;
        if (cell != CellCode(model.Cell) || nonlinearity != NonlinearityCode(model.Nonlinearity) || lines != modelLines
            || layers != model.Layers || hidden != model.HiddenSize || vocabulary != model.VocabularySize)
            throw new StateMismatchException($"the state is of {Describe(cell, nonlinearity, lines, layers, hidden, vocabulary)}; this model is "
                + Describe(CellCode(model.Cell), NonlinearityCode(model.Nonlinearity), modelLines, model.Layers, model.HiddenSize, model.VocabularySize));
        if (BinaryPrimitives.ReadUInt64LittleEndian(state[24..]) != VocabularyHash(model.Vocabulary))
            throw new StateMismatchException($"the state is of a model with other characters (the same number, {vocabulary})");
        int size = Size(model);
        if (state.Length != size) throw new StateMismatchException($"a saved state of this model is {size} bytes, got {state.Length}");
        if ((flags & ~(HasLogitsFlag | EndedFlag)) != 0) throw new StateMismatchException($"a damaged state: unknown flags {flags}");
        if ((flags & EndedFlag) != 0 && (lines == 0 || (flags & HasLogitsFlag) == 0))
            throw new StateMismatchException("a damaged state: only a lines model's sample ends, after a token was fed");
        if (state.Slice(RngOffset, Rng.StateBytes).IndexOfAnyExcept((byte)0) < 0) throw new StateMismatchException("a damaged state: an all-zero RNG");
        // a generator never holds a NaN or an infinity in its state or logits: one would poison every character after it
        for (int at = HeaderBytes; at < size; at += sizeof(float))
            if (!float.IsFinite(BinaryPrimitives.ReadSingleLittleEndian(state[at..])))
                throw new StateMismatchException($"a damaged state: a NaN or infinite value at byte {at}");
        return flags;
    }

    private static string Describe(byte cell, byte nonlinearity, byte lines, int layers, int hidden, int vocabulary)
    {
        string kind = cell switch { 0 => nonlinearity switch { 0 => "rnn (tanh)", 1 => "rnn (relu)", _ => $"rnn (nonlinearity {nonlinearity})" }, 1 => "lstm", 2 => "gru", _ => $"cell {cell}" };
        return string.Create(CultureInfo.InvariantCulture, $"a {layers}-layer {kind} {(lines switch { 0 => "stream", 1 => "lines", _ => $"mode-{lines}" })} model, {hidden} hidden units, {vocabulary} characters");
    }

    private static byte CellCode(CellKind cell) => cell switch { CellKind.Lstm => 1, CellKind.Gru => 2, _ => 0 };

    private static byte NonlinearityCode(Nonlinearity nonlinearity) => nonlinearity == Nonlinearity.Relu ? (byte)1 : (byte)0;

    // layer l's h, then (LSTM) its c, then the logits
    private static int HiddenOffset(InferenceModel model, int layer) => HeaderBytes + sizeof(float) * layer * model.HiddenSize;
    private static int CellOffset(InferenceModel model, int layer) => HeaderBytes + sizeof(float) * (model.Layers + layer) * model.HiddenSize;
    private static int LogitsOffset(InferenceModel model) => HeaderBytes + sizeof(float) * model.Shape.StateSize(1);

    // FNV-1a (64-bit) over each symbol's scalar value, 4 bytes little-endian: tells vocabularies of one size apart
    private static ulong VocabularyHash(Vocabulary vocabulary)
    {
        ulong hash = 0xCBF29CE484222325UL;
        for (int i = 0; i < vocabulary.Count; i++)
            for (int b = 0, value = vocabulary[i].Value; b < 4; b++, value >>= 8)
                hash = (hash ^ (byte)value) * 0x100000001B3UL;
        return hash;
    }

    private static void Put(ReadOnlySpan<float> values, Span<byte> bytes)
    {
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * sizeof(float))..], values[i]);
    }

    private static void Get(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        if (BitConverter.IsLittleEndian) bytes[..(values.Length * sizeof(float))].CopyTo(MemoryMarshal.AsBytes(values));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
    }
}

/// <summary>
/// One stream's recurrent state where a generator keeps it: layer l's h at <c>H[l·LayerStride ..][..H]</c>, an LSTM's c at
/// the same offsets of <c>C</c> (empty for other cells). A single generator's stride is H; a batch's is M·H.
/// </summary>
internal readonly ref struct StateRows(Span<float> h, Span<float> c, int layerStride)
{
    public Span<float> H { get; } = h;
    public Span<float> C { get; } = c;
    public int LayerStride { get; } = layerStride;
}

/// <summary>
/// A saved generator state that the generator given it cannot take: of a model with another cell, depth, hidden size,
/// mode or vocabulary, of another size, or not a state at all. The message says which.
/// </summary>
public sealed class StateMismatchException(string message) : ArgumentException(message);
