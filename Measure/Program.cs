using ToyModels.Measure;

// measure hardware|decoder|memory|kernels ...: see Verbs.Usage.
return Verbs.Run(args) ?? Verbs.Unknown(args);
