var a = "ÿş";
