"""A run's settings, decided once: what each field is and how its flag reads (fields.py), the
schema (schema.py), the presets (presets.py), what the quick preset keeps on a user's own data
(own_data.py), and how flags, a preset and the data become a run's final settings (resolve.py)."""
