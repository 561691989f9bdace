
CL-2026-004212˜¦€Ø
Sam Rivera203-555-0177"4
AlexSample (28B	New HavenHRDCF-NHV-2210X*g"_Youth left the foster home two nights ago with a new phone the foster parent had not given him.2
à¿ø×