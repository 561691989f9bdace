// (being ported)
