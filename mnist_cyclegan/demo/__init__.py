"""`mnistgan demo`: a local web page where one draws or drops a digit and sees it translated
into every domain by every bundled model (or by one weights file)."""
