using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;

// TwoBuilds BASE/CharRnn.Fast.dll NEW/CharRnn.Fast.dll CELL HIDDEN BATCH LAYERS ROUNDS STEPS
// The same training run (T = 25, V = 65 random tokens, Adam, element-wise clip 5, one thread) on two builds of the
// engine loaded into one process, one AssemblyLoadContext each, alternated: each round times STEPS steps of one build
// then of the other (the order flips every round), so both meet the machine in the same minutes. Prints the median of
// the per-round speed-ups (BASE's time over NEW's) and their range.
if (args.Length != 8)
{
    Console.Error.WriteLine("usage: TwoBuilds BASE.dll NEW.dll CELL HIDDEN BATCH LAYERS ROUNDS STEPS");
    return 2;
}
string cell = args[2];
int[] n = args[3..].Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
int hidden = n[0], batch = n[1], layers = n[2], rounds = n[3], steps = n[4];
var run = new[] { TrainStep(args[0]), TrainStep(args[1]) };
// warm-up, the builds taking turns, for two seconds (the JIT's tiers settle in that time) and at least ten steps each
var warm = Stopwatch.StartNew();
for (int i = 0; i < 10 || warm.Elapsed.TotalSeconds < 2; i++) { run[0](); run[1](); }
var ratios = new List<double>();
var times = new[] { new List<double>(), new List<double>() };
for (int r = 0; r < rounds; r++)
{
    var ms = new double[2];
    foreach (int side in r % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) run[side]();
        ms[side] = clock.Elapsed.TotalMilliseconds;
        times[side].Add(ms[side] / steps);
    }
    ratios.Add(ms[0] / ms[1]);
}
static double Median(List<double> x) { var s = x.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{cell} x{layers} H={hidden} B={batch}: base {Median(times[0]):F2} ms/step, new {Median(times[1]):F2} ms/step; " +
    $"speed-up (base time / new time) median {Median(ratios):F3} ({ratios.Min():F3}-{ratios.Max():F3}), {rounds} rounds x {steps} steps"));
return 0;

// A training step of a fresh model on the build at path, through its public API (Trainer.NewModel, Trainer.TrainStep).
Func<double> TrainStep(string path)
{
    var assembly = new AssemblyLoadContext(path).LoadFromAssemblyPath(Path.GetFullPath(path));
    Type Named(string name) => assembly.GetType(name, throwOnError: true)!;
    var vocabulary = Named("CharRnn.Fast.Text.Vocabulary").GetMethod("FromSymbols")!
        .Invoke(null, [Enumerable.Range(0, 65).Select(i => new Rune(0x100 + i)).ToList()])!;
    var optionsType = Named("CharRnn.Fast.Training.TrainingOptions");
    var options = Activator.CreateInstance(optionsType)!;
    void Set(string property, object value)
    {
        var p = optionsType.GetProperty(property)!;
        p.SetValue(options, value is string s ? Enum.Parse(p.PropertyType, s) : value);
    }
    Set("SequenceLength", 25); Set("BatchSize", batch); Set("Threads", 1); Set("Optimizer", "Adam"); Set("LearningRate", 1e-3); Set("ClipValue", 5.0);
    var trainerType = Named("CharRnn.Fast.Training.Trainer");
    var newModel = trainerType.GetMethod("NewModel")!;
    var named = newModel.GetParameters().Select(p => p.Name).ToHashSet();
    foreach (var required in new[] { "vocabulary", "hiddenSize", "options", "cell", "layers" })
        if (!named.Contains(required)) throw new InvalidOperationException($"{path}: Trainer.NewModel takes no '{required}' (a build before the deeper models?)");
    var model = newModel.Invoke(null, newModel.GetParameters().Select(p => p.Name switch
    {
        "vocabulary" => vocabulary,
        "hiddenSize" => hidden,
        "options" => options,
        "cell" => Enum.Parse(p.ParameterType, cell, ignoreCase: true),
        "layers" => layers,
        _ => Type.Missing,
    }).ToArray())!;
    var random = new Random(1);
    var tokens = new int[200_000];
    for (int i = 0; i < tokens.Length; i++) tokens[i] = random.Next(65);
    var constructor = trainerType.GetConstructors().First(c => c.GetParameters()[1].ParameterType == typeof(int[]));
    var trainer = constructor.Invoke(constructor.GetParameters().Select((p, i) => i switch { 0 => model, 1 => tokens, 2 => options, _ => Type.Missing }).ToArray());
    var step = (Func<double>)Delegate.CreateDelegate(typeof(Func<double>), trainer, trainerType.GetMethod("TrainStep")!);
    return step;
}
