"""A run's settings, decided once: what each field is and how its flag reads (fields.py), the
schema (schema.py), how a run goes (run_options.py), `train`'s options made from the fields
(command_line.py), the presets (presets.py), what the quick preset keeps on a user's own data
(own_data.py), and how flags, a preset and the data become a run's final settings (resolve.py)."""
