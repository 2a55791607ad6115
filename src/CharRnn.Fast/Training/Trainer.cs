using CharRnn.Fast.Data;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Training;

/// <summary>Training stopped because the loss or the gradient became NaN or infinite; the weights were not updated.</summary>
public sealed class NonFiniteTrainingException(string message, long step) : Exception(message)
{
    /// <summary>The step that failed (1-based: the first step of a run is step 1).</summary>
    public long Step { get; } = step;
}

/// <summary>
/// Trains a <see cref="CharRnnModel"/> on a token stream: truncated BPTT in the data order of <see cref="TokenStream"/>,
/// the recurrent state carried from step to step and reset at each epoch, clipping, then the optimizer. Every buffer is
/// allocated in the constructor; <see cref="TrainStep"/> allocates nothing. Everything a resumed run needs to continue
/// bit-identically is public state: <see cref="Step"/>, <see cref="Epoch"/>, <see cref="Cursor"/>, the carried state
/// (<see cref="CopyStateTo"/>, <see cref="SetState"/>), <see cref="SmoothLoss"/> and the optimizer's moments; dropout
/// masks are a function of the seed and the step.
/// </summary>
public sealed class Trainer : IDisposable
{
    // One workspace per worker; worker w trains streams [_firstStream[w], _firstStream[w] + _streamCount[w]).
    private readonly TruncatedBptt[] _bptt;
    private readonly RnnParameters[] _gradients;
    private readonly int[][] _inputs, _targets;
    private readonly int[] _firstStream, _streamCount;
    private readonly float[][] _states; // per worker: its streams' state, h [L,count,H] then c [L,count,H] for an LSTM
    private readonly double[] _losses;
    private readonly WorkerTeam? _team, _recurrenceTeam;
    private readonly Action<int> _workerStep;

    /// <summary>
    /// A trainer of <paramref name="model"/> on <paramref name="tokens"/>, continuing <paramref name="optimizer"/>'s state
    /// if given; kernels run on <paramref name="policy"/> (default <see cref="KernelPolicy.Default"/>).
    /// </summary>
    public Trainer(CharRnnModel model, int[] tokens, TrainingOptions options, Optimizer? optimizer = null, KernelPolicy? policy = null)
        : this(model, InMemory(model, tokens), options, optimizer, policy) { }

    /// <summary>As above, reading the training text through <paramref name="tokens"/> (e.g. a token store on disk).</summary>
    public Trainer(CharRnnModel model, ITokenSource tokens, TrainingOptions options, Optimizer? optimizer = null, KernelPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (tokens.VocabularySize > model.VocabularySize)
            throw new ArgumentException($"the training text's token ids go up to {tokens.VocabularySize - 1}; the model's vocabulary has {model.VocabularySize}");
        Policy = policy ?? KernelPolicy.Default;
        Model = model;
        Options = options;
        Data = new TokenStream(tokens, options.SequenceLength, options.BatchSize);
        Optimizer = optimizer ?? new Optimizer(options.Optimizer, model.Parameters.Shape);
        if (Optimizer.Kind != options.Optimizer) throw new ArgumentException("the optimizer state is for a different optimizer");
        int workers = Math.Min(options.Threads, options.BatchSize);
        _recurrenceTeam = ColumnTeam(model, Policy, options.BatchSize, options.Threads);
        _bptt = new TruncatedBptt[workers];
        _states = new float[workers][];
        var shape = model.Parameters.Shape;
        _gradients = new RnnParameters[workers];
        _inputs = new int[workers][];
        _targets = new int[workers][];
        _firstStream = new int[workers];
        _streamCount = new int[workers];
        _losses = new double[workers];
        for (int w = 0, first = 0; w < workers; w++)
        {
            int count = options.BatchSize / workers + (w < options.BatchSize % workers ? 1 : 0);
            _firstStream[w] = first;
            _streamCount[w] = count;
            first += count;
            _bptt[w] = new TruncatedBptt(shape, options.SequenceLength, count, Policy, model.Nonlinearity, _recurrenceTeam);
            _states[w] = new float[shape.StateSize(count)];
            _gradients[w] = new RnnParameters(model.Parameters.Shape);
            _inputs[w] = new int[options.SequenceLength * count];
            _targets[w] = new int[options.SequenceLength * count];
        }
        _workerStep = WorkerStep;
        if (workers > 1) _team = new WorkerTeam(workers);
        SmoothLoss = Math.Log(model.VocabularySize);
    }

    /// <summary>
    /// Batch 1 has no streams to split: its threads split the recurrences by columns instead, when there are at least
    /// two column units (H ≥ 256) to give out and no sequence resets. Null: no such team.
    /// </summary>
    internal static WorkerTeam? ColumnTeam(CharRnnModel model, KernelPolicy policy, int batch, int threads)
    {
        int columnUnits = (model.HiddenSize + policy.ColumnSplitUnit - 1) / policy.ColumnSplitUnit;
        return batch == 1 && threads > 1 && columnUnits > 1 && !model.SequenceMode ? new WorkerTeam(Math.Min(threads, columnUnits)) : null;
    }

    /// <summary>
    /// An evaluator of the batch's B streams that runs on this trainer's threads and workspaces (forward only, with its
    /// own carried state): validation at training speed. Use it between steps, never during one.
    /// </summary>
    public BatchedEvaluator CreateEvaluator() => new(Model, _bptt, _firstStream, _streamCount, _team, Options.SequenceLength);

    private static ArrayTokenSource InMemory(CharRnnModel model, int[] tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        return new ArrayTokenSource(tokens, model.VocabularySize);
    }

    /// <summary>Threads actually used: streams split across up to B threads, or at batch 1 the recurrences split by columns.</summary>
    public int Threads => _recurrenceTeam?.Size ?? _bptt.Length;

    /// <summary>A fresh model of <paramref name="layers"/> layers of <paramref name="cell"/>, initialised from <paramref name="options"/>' schemes and seed.</summary>
    public static CharRnnModel NewModel(Vocabulary vocabulary, int hiddenSize, TrainingOptions options, Nonlinearity nonlinearity = Nonlinearity.Tanh,
        bool sequenceMode = false, CellKind cell = CellKind.Rnn, int layers = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        var model = new CharRnnModel(vocabulary, hiddenSize, nonlinearity, sequenceMode, cell, layers);
        ParameterInitializer.Initialize(model.Parameters, options.WeightInit, options.BiasInit, new Rng(options.Seed), options.ForgetBias);
        return model;
    }

    public CharRnnModel Model { get; }

    /// <summary>The kernels this trainer runs on, chosen when it was made.</summary>
    public KernelPolicy Policy { get; }
    public TrainingOptions Options { get; }
    public TokenStream Data { get; }
    public Optimizer Optimizer { get; }

    /// <summary>
    /// The gradient of the last step before clipping: <see cref="Optimizer.ClipAndUpdate"/> clips as it reads it (with both
    /// an element-wise and a norm clip on, the element-wise clamp is applied to it in place first).
    /// </summary>
    public RnnParameters Gradient => _gradients[0];

    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; set; }

    /// <summary>Completed passes over the data.</summary>
    public long Epoch { get; set; }

    /// <summary>The next step within the epoch (0 ≤ cursor &lt; steps per epoch).</summary>
    public int Cursor { get; set; }

    /// <summary>Floats of the carried state: h [L,B,H], then c [L,B,H] for an LSTM.</summary>
    public int StateSize => Model.Parameters.Shape.StateSize(Options.BatchSize);

    /// <summary>Copies the carried state, h [L,B,H] then c [L,B,H] for an LSTM, into <paramref name="destination"/>.</summary>
    public void CopyStateTo(Span<float> destination) => MoveState(destination, toWorkers: false);

    /// <summary>Replaces the carried state (layout of <see cref="CopyStateTo"/>).</summary>
    public void SetState(ReadOnlySpan<float> source) => MoveState(MemoryMarshalHelpers.AsWritable(source), toWorkers: true);

    // The whole batch's state [S,B,H] (S = L, or 2L for an LSTM) against the workers' [S,count,H] pieces.
    private void MoveState(Span<float> whole, bool toWorkers)
    {
        int h = Model.HiddenSize, b = Options.BatchSize, slices = StateSize / (b * h);
        if (whole.Length != StateSize) throw new ArgumentException($"the state holds {StateSize} floats", nameof(whole));
        for (int w = 0; w < _states.Length; w++)
            for (int s = 0; s < slices; s++)
            {
                var mine = _states[w].AsSpan(s * _streamCount[w] * h, _streamCount[w] * h);
                var theirs = whole.Slice((s * b + _firstStream[w]) * h, _streamCount[w] * h);
                if (toWorkers) theirs.CopyTo(mine); else mine.CopyTo(theirs);
            }
    }

    /// <summary>Mean loss per character of the last step (nats).</summary>
    public double LastLoss { get; private set; } = double.NaN;

    /// <summary>Exponential moving average of the per-character loss (min-char-rnn's 0.999 / 0.001), starting at log V.</summary>
    public double SmoothLoss { get; set; }

    /// <summary>‖g‖₂ of the last step before clipping.</summary>
    public double LastGradientNorm { get; private set; }

    // what to change: before any update (step 1 of a new run) the starting weights are to blame, after one the step size
    private NonFiniteTrainingException NonFinite(string what) => new(Step == 0
        ? $"{what} at step 1, before any update: the starting weights are too large"
        : $"{what} at step {Step + 1}: {StepAdvice}", Step + 1);

    private string StepAdvice => Options.ClipValue > 0 || Options.ClipNorm > 0 ? "lower the learning rate" : "lower the learning rate or enable clipping";

    /// <summary>
    /// Throws <see cref="NonFiniteTrainingException"/> when the weights or the optimizer's moments hold a NaN or an
    /// infinity: an update of finite gradients can still overflow them (an extreme learning rate, or unclipped gradients
    /// near float's limit), which the loss shows only a step later. Call it before saving; it reads every value once.
    /// </summary>
    public void ThrowIfNotFinite()
    {
        if (Model.Parameters.AllFinite() && Optimizer.FirstMoment?.AllFinite() != false && Optimizer.SecondMoment?.AllFinite() != false) return;
        throw new NonFiniteTrainingException($"the update of step {Step} made the weights or the optimizer's state NaN or infinite: {StepAdvice}", Step);
    }

    /// <summary>The learning rate the next step uses.</summary>
    public double CurrentLearningRate => Options.LearningRateAt(Step);

    /// <summary>
    /// One optimizer step on the next chunk. Returns its mean cross-entropy per character (nats). Throws
    /// <see cref="NonFiniteTrainingException"/>, leaving the weights untouched, if the loss or gradient is not finite.
    /// </summary>
    public double TrainStep()
    {
        var gradient = _gradients[0];
        if (_team is null) WorkerStep(0);
        else
        {
            _team.Run(_workerStep);
            // Σ of the workers' gradients in a fixed order: the result depends on the thread count only
            for (int w = 1; w < _gradients.Length; w++) Elementwise.Apply(Policy, new AddOperator(), gradient.All, _gradients[w].All);
        }
        double loss = 0;
        foreach (double l in _losses) loss += l;
        loss /= (double)Options.SequenceLength * Options.BatchSize;
        if (!double.IsFinite(loss)) throw NonFinite($"the loss became {loss}");
        double norm = Optimizer.ClipAndUpdate(Policy, Model.Parameters, gradient, Options, Options.LearningRateAt(Step));
        if (!double.IsFinite(norm)) throw NonFinite("the gradient became non-finite");

        Step++;
        LastLoss = loss;
        LastGradientNorm = norm;
        SmoothLoss = SmoothLoss * 0.999 + loss * 0.001;
        if (++Cursor == Data.StepsPerEpoch)
        {
            Cursor = 0;
            Epoch++;
            foreach (var state in _states) Array.Clear(state); // a new pass starts from a blank memory
        }
        return loss;
    }

    // Forward and backward of worker w's streams; its gradient carries the whole batch's 1/B weight.
    private void WorkerStep(int w)
    {
        Data.Fill(Cursor, _firstStream[w], _streamCount[w], _inputs[w], _targets[w]);
        _losses[w] = _bptt[w].ForwardBackward(Model.Parameters, _gradients[w], _inputs[w], _targets[w], _states[w], Model.BoundaryToken,
            1f / Options.BatchSize, new DropoutDraw(Options.Dropout, Options.Seed, Step, _firstStream[w]));
    }

    /// <summary>Stops the worker threads (if any).</summary>
    public void Dispose()
    {
        _team?.Dispose();
        _recurrenceTeam?.Dispose();
    }
}
