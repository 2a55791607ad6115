using System.Globalization;
using System.Numerics;

namespace CharRnn.Cli.Arguments;

/// <summary>
/// The options of one command line, parsed against the command's <see cref="Option"/> table: <c>--name value</c>,
/// <c>--name=value</c>, flags without a value, <c>-x value</c> for an option with a short alias, and up to
/// <c>positional</c> plain arguments (none unless the command takes them). Unknown options, missing values and options
/// given twice (unless repeatable) are <see cref="UsageException"/>s; typed getters say which option was wrong and
/// what it expects. Messages carry no pointer to --help: the caller adds the one that names the command.
/// </summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    private ParsedArguments() { }

    /// <summary>The plain arguments, in order.</summary>
    public IReadOnlyList<string> Positional => _positional;

    public static ParsedArguments Parse(IReadOnlyList<string> args, IReadOnlyList<Option> options, int positional = 0)
    {
        var parsed = new ParsedArguments();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            Option? option;
            string name;
            string? value = null;
            if (arg.Length == 2 && arg[0] == '-' && arg[1] != '-')
            {
                option = options.FirstOrDefault(o => o.Short == arg[1]) ?? throw new UsageException($"unknown option {arg}");
                name = option.Name;
            }
            else if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                if (parsed._positional.Count == positional)
                    throw new UsageException(positional == 0 ? $"unexpected argument '{arg}' (options start with --)" : $"unexpected argument '{arg}'");
                parsed._positional.Add(arg);
                continue;
            }
            else
            {
                name = arg[2..];
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                option = options.FirstOrDefault(o => o.Name == name)
                    ?? throw new UsageException($"unknown option --{name}{Suggest(name, options)}");
            }
            if (option.IsFlag)
            {
                if (value is not null) throw new UsageException($"--{name} is a flag and takes no value");
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"--{name} expects a value ({option.Value})");
                value = args[++i];
            }
            if (option.Repeatable)
            {
                if (!parsed._repeated.TryGetValue(name, out var values)) parsed._repeated[name] = values = [];
                values.Add(value!);
                parsed._values[name] = value;
            }
            else if (!parsed._values.TryAdd(name, value)) throw new UsageException($"--{name} is given twice");
        }
        return parsed;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>Every value of a repeatable option, in the order given (empty when absent).</summary>
    public IReadOnlyList<string> Strings(string name) => _repeated.TryGetValue(name, out var values) ? values : [];

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string String(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw NotAnInteger(name, text, min, max, "an integer");
        if (value < min || value > max) throw new UsageException($"--{name} must be {Range(min, max)}, got {value}");
        return value;
    }

    public long Long(string name, long fallback, long min = 0)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
            throw NotAnInteger(name, text, min, long.MaxValue, "an integer");
        if (value < min) throw new UsageException($"--{name} must be ≥ {min}, got {value}");
        return value;
    }

    public ulong ULong(string name, ulong fallback)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong value))
            throw NotAnInteger(name, text, ulong.MinValue, ulong.MaxValue, "a non-negative integer");
        return value;
    }

    public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue, bool minExclusive = false)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || double.IsNaN(value))
            throw new UsageException($"--{name} expects a number, got '{text}'");
        if (double.IsInfinity(value)) throw new UsageException($"--{name} must be a finite number, got '{text}'"); // 1e999 overflows to ∞
        if (value < min || value > max || (minExclusive && value == min))
            throw new UsageException($"--{name} must be {(minExclusive ? $"> {min.ToString(CultureInfo.InvariantCulture)}" : "≥ " + min.ToString(CultureInfo.InvariantCulture))}{(max < double.MaxValue ? " and ≤ " + max.ToString(CultureInfo.InvariantCulture) : "")}, got {text}");
        return value;
    }

    /// <summary>
    /// The error for text the integer type did not parse: an integer beyond the type's bits is out of range, and the
    /// message gives the range; anything else is not an integer.
    /// </summary>
    private static UsageException NotAnInteger(string name, string? text, BigInteger min, BigInteger max, string expected)
        => BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? new UsageException(string.Create(CultureInfo.InvariantCulture, $"--{name} must be in {min}..{max}, got {value}"))
            : new UsageException($"--{name} expects {expected}, got '{text}'");

    private static string Range(long min, long max) => max == int.MaxValue ? $"≥ {min}" : $"in {min}..{max}";

    private static string Suggest(string name, IReadOnlyList<Option> options)
    {
        var close = options.Select(o => o.Name).FirstOrDefault(o => o.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(o, StringComparison.Ordinal));
        return close is null ? "" : $"; did you mean --{close}?";
    }
}
