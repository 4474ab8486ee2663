"""Card products (卡种): models, smart validation and the services around them."""
