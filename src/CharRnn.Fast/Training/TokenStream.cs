using System.Globalization;
using CharRnn.Fast.Data;

namespace CharRnn.Fast.Training;

/// <summary>
/// The data order of training (a contract, see README): the token stream is cut into B contiguous shards of
/// S = ⌊(N−1)/B⌋ tokens; step k of an epoch gives stream b the inputs shard_b[k·T .. k·T+T) and the targets shifted by
/// one (min-char-rnn's order at B = 1, char-rnn's at B &gt; 1). An epoch has ⌊S/T⌋ steps. The tokens are read through
/// an <see cref="ITokenSource"/> (64-bit positions, so a stored corpus of any length), each stream reading ahead of its
/// position in one block of W ≥ T + 1 tokens (about 2^18 tokens in all), so a store is read in few, large reads and
/// memory does not grow with the corpus.
/// </summary>
public sealed class TokenStream
{
    private const int ReadAheadTokens = 1 << 18; // all streams together

    private readonly ITokenSource _source;
    private readonly int _ahead;            // W: tokens a stream reads at once
    private readonly int[] _blocks;         // [B, W]: stream b's block; streams never share a row
    private readonly long[] _blockStart;    // [B]: the source position of its first token (−1: none yet)
    private readonly int[] _blockLength;    // [B]

    /// <summary>Throws <see cref="ArgumentException"/> when the text is too short for one step, or has more steps per epoch than an int counts.</summary>
    public TokenStream(ITokenSource source, int sequenceLength, int batchSize) : this(source, sequenceLength, batchSize, training: true)
    {
    }

    private TokenStream(ITokenSource source, int sequenceLength, int batchSize, bool training)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        long shard = (source.Length - 1) / batchSize, steps = shard / sequenceLength;
        if (training)
        {
            if (source.Length == 0) throw new ArgumentException("the training text is empty");
            long needed = (long)sequenceLength * batchSize + 1;
            if (source.Length < needed)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the training text has {source.Length:N0} character{(source.Length == 1 ? "" : "s")}; one step of {batchSize:N0} stream(s) × {sequenceLength:N0} characters needs at least {needed:N0}: use a longer text, or a smaller --seq-len or --batch"));
            if (steps > int.MaxValue)
                throw new ArgumentException($"the training text has {source.Length} characters: {steps} steps per epoch of {batchSize} stream(s) × {sequenceLength} characters is more than {int.MaxValue}; use a larger --seq-len or --batch");
        }
        else if (source.Length < batchSize + 1L)
            throw new ArgumentException($"evaluating {batchSize} stream(s) needs at least {batchSize + 1} characters (got {source.Length})");
        _source = source;
        _ahead = (int)Math.Clamp(ReadAheadTokens / batchSize, sequenceLength + 1L, Math.Max(sequenceLength + 1L, source.Length));
        _blocks = new int[(long)batchSize * _ahead <= Array.MaxLength ? batchSize * _ahead : throw new ArgumentException($"{batchSize} streams × {sequenceLength + 1} characters do not fit in one buffer")];
        _blockStart = new long[batchSize];
        _blockStart.AsSpan().Fill(-1);
        _blockLength = new int[batchSize];
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        ShardLength = shard;
        StepsPerEpoch = (int)Math.Min(steps, int.MaxValue);
    }

    /// <summary>
    /// The same order over a held-out range, for evaluation: B shards of ⌊(N−1)/B⌋ tokens read in chunks of up to
    /// <paramref name="chunk"/> (<see cref="FillAt"/>); needs N ≥ B + 1 only.
    /// </summary>
    internal static TokenStream ForEvaluation(ITokenSource source, int chunk, int streams) => new(source, chunk, streams, training: false);

    /// <summary>The tokens read (the whole training range).</summary>
    public ITokenSource Source => _source;

    public int SequenceLength { get; }
    public int BatchSize { get; }

    /// <summary>S = ⌊(N−1)/B⌋: tokens per stream and epoch.</summary>
    public long ShardLength { get; }

    public int StepsPerEpoch { get; }

    /// <summary>Fills inputs and targets, both [T,B] t-major, for step <paramref name="stepInEpoch"/>.</summary>
    public void Fill(int stepInEpoch, Span<int> inputs, Span<int> targets) => Fill(stepInEpoch, 0, BatchSize, inputs, targets);

    /// <summary>
    /// Fills inputs and targets, both [T,count] t-major, with streams firstStream..firstStream+count−1 of step
    /// <paramref name="stepInEpoch"/> (one worker's share of the batch). Calls for disjoint streams may run at once.
    /// </summary>
    public void Fill(int stepInEpoch, int firstStream, int count, Span<int> inputs, Span<int> targets)
    {
        if ((uint)stepInEpoch >= (uint)StepsPerEpoch) throw new ArgumentOutOfRangeException(nameof(stepInEpoch));
        FillAt((long)stepInEpoch * SequenceLength, SequenceLength, firstStream, count, inputs, targets);
    }

    /// <summary>
    /// Fills inputs and targets, both [steps,count] t-major, with positions t0..t0+steps−1 of shards
    /// firstStream..firstStream+count−1 (steps ≤ T; t0 + steps ≤ S).
    /// </summary>
    internal void FillAt(long t0, int steps, int firstStream, int count, Span<int> inputs, Span<int> targets)
    {
        if (steps < 1 || steps > SequenceLength || t0 < 0 || t0 > ShardLength - steps) throw new ArgumentOutOfRangeException(nameof(steps));
        if (firstStream < 0 || count < 1 || firstStream + count > BatchSize) throw new ArgumentOutOfRangeException(nameof(count));
        for (int b = 0; b < count; b++)
        {
            var window = Window(firstStream + b, (firstStream + b) * ShardLength + t0, steps + 1); // shard_b[t0 .. t0+steps]
            for (int t = 0; t < steps; t++)
            {
                inputs[t * count + b] = window[t];
                targets[t * count + b] = window[t + 1];
            }
        }
    }

    /// <summary>Tokens [position, position + length) of stream b, from its block, read again from there when outside it.</summary>
    private ReadOnlySpan<int> Window(int b, long position, int length)
    {
        long start = _blockStart[b];
        if (start < 0 || position < start || position + length > start + _blockLength[b])
        {
            int n = (int)Math.Min(_ahead, _source.Length - position);
            _source.Read(position, _blocks.AsSpan(b * _ahead, n));
            (_blockStart[b], _blockLength[b], start) = (position, n, position);
        }
        return _blocks.AsSpan(b * _ahead + (int)(position - start), length);
    }
}
